#!/usr/bin/env bash
# Attachment throughput through a running relay, beside the two limits it
# works within, all in one run on the same disk:
#   (a) dd of the same bytes to the data disk, conv=fsync;
#   (b) a plain HTTP copy over loopback: curl fetching the file from
#       `python3 -m http.server`, written to the same disk;
#   then attachment_bench against a fresh tandemd whose data directory is
#   on that disk: encrypt and decrypt alone, upload (encrypt + chunks, each
#   fdatasync'ed before its answer) and download (ranges + verify + decrypt).
#
# Usage: bench/attachment_bench.sh [BUILD_DIR] [MIB] [WORK_DIR]
#   BUILD_DIR  with tandemd and attachment_bench built (default: build)
#   MIB        attachment size (default: 100)
#   WORK_DIR   on the disk to measure (default: BUILD_DIR/attachment-bench)
set -euo pipefail

build=$(realpath "${1:-build}")
mib=${2:-100}
work=${3:-$build/attachment-bench}
tandemd=$build/src/app/tandemd
bench=$build/bench/attachment_bench
[[ -x "$tandemd" && -x "$bench" ]] || {
  echo "build tandemd and attachment_bench first: ninja -C $build tandemd attachment_bench" >&2
  exit 1
}
rm -rf "$work"
mkdir -p "$work/www" "$work/scratch"
cd "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work/www" "$work/scratch" "$work/data/attachments" "$work"/*.out
}
trap cleanup EXIT

head -c $((mib << 20)) /dev/urandom > www/plain.bin
bytes=$(stat -c %s www/plain.bin)
mibps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
seconds() { local t0=$1 t1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }

# (a) the disk: the same bytes, one fsync at the end.
sync
t0=$(date +%s.%N)
dd if=www/plain.bin of=dd.out bs=8M conv=fsync status=none
dd_s=$(seconds "$t0")
rm -f dd.out
echo "{\"phase\": \"dd_fsync\", \"bytes\": $bytes, \"seconds\": $dd_s, \"mib_per_s\": $(mibps "$dd_s")}"

# (b) loopback HTTP with a plain client and server.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
t0=$(date +%s.%N)
curl -sf -o curl.out "http://127.0.0.1:$port/plain.bin"
sync curl.out
curl_s=$(seconds "$t0")
rm -f curl.out
echo "{\"phase\": \"curl_loopback\", \"bytes\": $bytes, \"seconds\": $curl_s, \"mib_per_s\": $(mibps "$curl_s")}"

# The relay.
"$tandemd" serve --listen 127.0.0.1:0 --data-dir "$work/data" --ready-file "$work/ready" >"$work/tandemd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do [[ -s "$work/ready" ]] && break; sleep 0.05; done
[[ -s "$work/ready" ]] || { cat "$work/tandemd.log" >&2; exit 1; }
"$bench" --server "$(cat "$work/ready")" --data-dir "$work/data" --file "$work/www/plain.bin" \
  --scratch "$work/scratch" --out "$work/received.out"

echo "machine: $(nproc) cores, $(df -h --output=source,fstype . | tail -1), $(uname -r)" >&2
