# Helpers for the social end-to-end tests (source after lib.sh).

# start_peer PEER_BIN DIR NAME [ARGS...]: starts social_feed_peer serve; sets
# PEER_PID and PEER_ADDR.
start_peer() {
  local bin=$1 dir=$2 name=$3
  shift 3
  rm -f "$dir/$name.ready"
  "$bin" serve --ready-file "$dir/$name.ready" "$@" >>"$dir/$name.log" 2>&1 &
  PEER_PID=$!
  wait_ready "$PEER_PID" "$dir/$name.ready" "$dir/$name.log" "feed peer"
  PEER_ADDR=$(cat "$dir/$name.ready")
}

# wait_until SECONDS CMD...: polls CMD every 50 ms; fails after SECONDS (a
# hang guard, never a performance assertion).
wait_until() {
  local limit=$1
  shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@"; do
    (( $(date +%s) < deadline )) || fail "timed out waiting for: $*"
    sleep 0.05
  done
}

# metric ADDR NAME: the value of an unlabelled metric (or "").
metric() {
  curl -s "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
