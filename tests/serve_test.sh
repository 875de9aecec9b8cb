#!/usr/bin/env bash
# The real server binary starts on port 0, answers /healthz and /metrics,
# and exits 0 within 2 seconds of SIGTERM.
source "$(dirname "$0")/lib.sh"
bin=$1
work=$(mktemp -d)
trap 'kill -9 $TANDEMD_PID 2>/dev/null || true; rm -rf "$work"' EXIT

start_tandemd "$bin" "$work"
health=$(curl -sS "http://$TANDEMD_ADDR/healthz")
assert_eq "$health" '{"status":"ok"}' "healthz"
metrics=$(curl -sS "http://$TANDEMD_ADDR/metrics")
assert_contains "$metrics" 'tandem_http_requests_total{method="GET",route="/healthz",status="200"} 1' "metrics"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$TANDEMD_ADDR/no/such/thing")
assert_eq "$code" "404" "unknown path"
[[ -d "$work/data" ]] || fail "data directory was not created"

# An idle keep-alive connection must not hold up shutdown.
exec 3<>/dev/tcp/${TANDEMD_ADDR%:*}/${TANDEMD_ADDR#*:}
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3

start=$(date +%s%N)
kill -TERM "$TANDEMD_PID"
rc=0
wait "$TANDEMD_PID" || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "$rc" "0" "exit code after SIGTERM"
(( elapsed_ms < 2000 )) || fail "shutdown took ${elapsed_ms} ms"
grep -q "server.stopped" "$work/tandemd.log" || fail "no server.stopped log line"

# Bad configuration is a clear error with exit code 2.
echo 'server = [' > "$work/bad.toml"
rc=0
"$bin" serve --config "$work/bad.toml" 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "exit code for a malformed config"
assert_contains "$(cat "$work/err")" "bad.toml" "config error names the file"
# A port that is taken is reported, not ignored.
start_tandemd "$bin" "$work"
rc=0
"$bin" serve --listen "$TANDEMD_ADDR" --data-dir "$work/data2" 2>"$work/err2" || rc=$?
assert_eq "$rc" "1" "exit code when the port is taken"
assert_contains "$(cat "$work/err2")" "cannot listen" "port-in-use error"
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"
echo "serve lifecycle: ok (shutdown in ${elapsed_ms} ms)"
