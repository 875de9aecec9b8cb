#!/usr/bin/env bash
# Configuration as the real tandemd sees it: unknown keys are refused before
# anything starts, `tandemd config` shows values and their sources, secrets
# stay hidden, docs/configuration.md is the generated reference, and SIGHUP
# applies a new log level.
source "$(dirname "$0")/lib.sh"
bin=$1
docs=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# An unknown key on the command line: exit 2, the exact message, nothing started.
rc=0
"$bin" serve --data-dir "$work/data" --ready-file "$work/ready" --listen 127.0.0.1:0 \
  --set ads.admin_tokn=x >"$work/out" 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "exit code for an unknown --set key"
assert_contains "$(cat "$work/err")" "tandemd: unknown key ads.admin_tokn (did you mean ads.admin_token?)" "unknown key message"
[[ ! -e "$work/ready" ]] || fail "tandemd became ready with an unknown key"
[[ ! -e "$work/data" ]] || fail "tandemd created its data directory with an unknown key"

# Likewise in a TOML file, as a leaf and as a table.
printf '[ads]\nadmin_tokn = "x"\n' >"$work/leaf.toml"
rc=0
"$bin" serve --config "$work/leaf.toml" --data-dir "$work/data" 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "exit code for an unknown key in a file"
assert_contains "$(cat "$work/err")" "leaf.toml: unknown key ads.admin_tokn (did you mean ads.admin_token?)" "file key"
printf '[relay.limits.sned]\nburst = 3\n' >"$work/table.toml"
rc=0
"$bin" serve --config "$work/table.toml" --data-dir "$work/data" 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "exit code for an unknown table in a file"
assert_contains "$(cat "$work/err")" "unknown key relay.limits.sned.burst (did you mean relay.limits.send.burst?)" "table"
[[ ! -e "$work/data" ]] || fail "tandemd created its data directory with a bad file"

# Wrong types and bounds name the key and what was expected.
rc=0
"$bin" serve --set server.threads=abc 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "exit code for a value of the wrong type"
assert_contains "$(cat "$work/err")" "server.threads must be an integer, got 'abc'" "type error"
rc=0
"$bin" config --set feed.batch=0 >/dev/null 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "config: exit code for a value out of bounds"
assert_contains "$(cat "$work/err")" "feed.batch must be between 1 and 5000, got 0" "bounds error"

# tandemd config: value and source of every key; secrets hidden.
printf '[server]\nlisten = "127.0.0.1:9999"\n[ads]\nadmin_token = "hunter2token"\n' >"$work/t.toml"
out=$("$bin" config --config "$work/t.toml" --set server.threads=3)
line=$(grep -E '^server\.threads ' <<<"$out")
[[ "$line" =~ ^server\.threads\ +3\ +--set$ ]] || fail "server.threads line: $line"
line=$(grep -E '^server\.listen ' <<<"$out")
assert_contains "$line" "\"127.0.0.1:9999\"" "listen from the file"
assert_contains "$line" "$work/t.toml" "listen's source is the file"
line=$(grep -E '^server\.data_dir ' <<<"$out")
assert_contains "$line" "default" "an unset key's source"
assert_contains "$(grep -E '^ads\.admin_token ' <<<"$out")" "(set)" "a set secret"
[[ "$out" != *hunter2token* ]] || fail "tandemd config printed a secret"
json=$("$bin" config --config "$work/t.toml" --set server.threads=3 --json)
assert_contains "$json" '{"key":"server.threads","runtime":false,"source":"--set","type":"integer","value":"3"}' "json"
[[ "$json" != *hunter2token* ]] || fail "tandemd config --json printed a secret"
keys=$(wc -l <<<"$json")
(( keys > 50 )) || fail "tandemd config --json listed only $keys keys"

# The committed reference is the generated one.
if ! diff -u "$docs" <("$bin" config --markdown) >"$work/docs.diff"; then
  cat "$work/docs.diff" >&2
  fail "docs/configuration.md differs from \`tandemd config --markdown\`; regenerate it"
fi

# serve --help points at both.
help=$("$bin" serve --help)
assert_contains "$help" "tandemd config" "serve --help mentions tandemd config"
assert_contains "$help" "docs/configuration.md" "serve --help mentions docs/configuration.md"

# SIGHUP: a new log level from the file; an invalid file changes nothing.
printf '[log]\nlevel = "warn"\n' >"$work/run.toml"
start_tandemd "$bin" "$work" --config "$work/run.toml"
curl -sS "http://$TANDEMD_ADDR/healthz" >/dev/null
! grep -q "http.request" "$work/tandemd.log" || fail "an info line was written at level warn"
printf '[log]\nlevel = "debug"\n' >"$work/run.toml"
kill -HUP "$TANDEMD_PID"
for _ in $(seq 1 100); do grep -q "config.reloaded" "$work/tandemd.log" && break; sleep 0.05; done
grep -q 'config.reloaded.*log.level=debug' "$work/tandemd.log" || { cat "$work/tandemd.log" >&2; fail "no config.reloaded"; }
printf '[log]\nlevel = "info"\n[server]\nthreds = 2\n' >"$work/run.toml"
kill -HUP "$TANDEMD_PID"
for _ in $(seq 1 100); do grep -q "config.reload_failed" "$work/tandemd.log" && break; sleep 0.05; done
assert_contains "$(grep config.reload_failed "$work/tandemd.log")" "unknown key server.threds" "a refused reload"
# Still at debug: the refused file's level was not applied.
curl -sS "http://$TANDEMD_ADDR/healthz" >/dev/null
printf '[log]\nlevel = "debug"\n[server]\nthreads = 2\n' >"$work/run.toml"
kill -HUP "$TANDEMD_PID"
for _ in $(seq 1 100); do grep -q "config.restart_needed" "$work/tandemd.log" && break; sleep 0.05; done
assert_contains "$(grep config.restart_needed "$work/tandemd.log")" "server.threads" "a restart-only key is named"
kill -0 "$TANDEMD_PID" || fail "tandemd exited on SIGHUP"
kill -TERM "$TANDEMD_PID"
rc=0
wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" "0" "exit code after SIGHUPs and SIGTERM"
echo "configuration: ok"
