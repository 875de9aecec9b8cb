# Helpers for end-to-end test scripts. Source it; it sets `set -euo pipefail`.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
assert_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"; }

# wait_ready PID READY_FILE LOG NAME: waits until the process PID has
# written its address to READY_FILE; fails (showing LOG) if it exits first
# or takes more than 10 s.
wait_ready() {
  local pid=$1 ready=$2 log=$3 name=$4
  for _ in $(seq 1 200); do
    [[ -s "$ready" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$name exited during start-up"; }
    sleep 0.05
  done
  [[ -s "$ready" ]] || fail "$name did not become ready"
}

# start_tandemd BINARY WORKDIR [ARGS...]: starts `tandemd serve` on a free
# port (or on $TANDEMD_LISTEN) and sets TANDEMD_PID and TANDEMD_ADDR.
start_tandemd() {
  local bin=$1 dir=$2
  shift 2
  rm -f "$dir/ready"
  "$bin" serve --listen "${TANDEMD_LISTEN:-127.0.0.1:0}" --data-dir "$dir/data" --ready-file "$dir/ready" "$@" \
    >>"$dir/tandemd.log" 2>&1 &
  TANDEMD_PID=$!
  wait_ready "$TANDEMD_PID" "$dir/ready" "$dir/tandemd.log" tandemd
  TANDEMD_ADDR=$(cat "$dir/ready")
}
