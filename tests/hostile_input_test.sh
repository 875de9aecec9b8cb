#!/usr/bin/env bash
# Hostile input against the real server: over-long phone numbers on every
# endpoint that takes one, posted by several clients at once, must get a
# precise error while /healthz keeps answering; an unauthenticated sender
# cannot stall the server. The data directory and its files are for
# tandemd's user only.
source "$(dirname "$0")/lib.sh"
bin=$1
work=$(mktemp -d)
loops=()
trap 'kill "${loops[@]}" 2>/dev/null || true; kill -9 $TANDEMD_PID 2>/dev/null || true; [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work"' EXIT

start_tandemd "$bin" "$work"
base="http://$TANDEMD_ADDR"

# 200,000 digits: libphonenumber alone would take minutes over such input.
digits=$(head -c 200000 /dev/zero | tr '\0' '1')
printf '{"number":"%s"}' "$digits" >"$work/relay_code.json"
printf '{"phone":"%s","region":"US"}' "$digits" >"$work/social_register.json"
printf '{"numbers":["%s","%s"]}' "$digits" "$digits" >"$work/directory.json"
head -c 8000 /dev/zero | tr '\0' '9' >"$work/key_path"
unset digits

# Four clients post over-long numbers in a loop while we ask for /healthz.
for i in 1 2 3 4; do
  (
    while :; do
      curl -s -o /dev/null -XPOST "$base/v1/registration/code" --data-binary @"$work/relay_code.json"
      curl -s -o /dev/null -XPOST "$base/v1/social/register" --data-binary @"$work/social_register.json"
    done
  ) &
  loops+=($!)
done
for _ in $(seq 1 20); do
  health=$(curl -sS --max-time 30 "$base/healthz") || fail "/healthz did not answer while long numbers were posted"
  assert_eq "$health" '{"status":"ok"}' "healthz under long numbers"
done
kill "${loops[@]}" 2>/dev/null || true
wait "${loops[@]}" 2>/dev/null || true
loops=()

# Each long number gets a precise answer: refused as too long, or refused
# by the per-address limit that is taken before any parsing.
answer=$(curl -sS -XPOST "$base/v1/registration/code" --data-binary @"$work/relay_code.json" -w ' %{http_code}')
if [[ "$answer" != *" 429" ]]; then
  assert_contains "$answer" '"code":"invalid_argument"' "relay registration with a long number"
  assert_contains "$answer" 'too many digits' "relay registration names the reason"
fi
answer=$(curl -sS -XPOST "$base/v1/social/register" --data-binary @"$work/social_register.json" -w ' %{http_code}')
if [[ "$answer" != *" 429" ]]; then
  assert_contains "$answer" '"code":"invalid_argument"' "social registration with a long number"
fi
answer=$(curl -sS "$base/v1/keys/$(cat "$work/key_path")" -w ' %{http_code}')
assert_contains "$answer" ' 401' "key lookup without credentials"

# JSON numbers out of range and made-up methods are the client's error.
answer=$(curl -sS -XPOST "$base/v1/social/register" -d '{"phone":"+14155550123","region":1e999999}' -w ' %{http_code}')
assert_contains "$answer" ' 400' "out-of-range number in a body"
assert_contains "$answer" '"invalid_argument"' "out-of-range number in a body"
for m in BREW PROPFIND XYZZY; do curl -s -o /dev/null -X "$m" "$base/v1/social/me"; done
metrics=$(curl -sS "$base/metrics")
[[ "$metrics" != *BREW* && "$metrics" != *XYZZY* ]] || fail "a made-up method became a metrics label"
assert_contains "$metrics" 'method="other"' "made-up methods are counted as other"

# Files are for tandemd's user only.
assert_eq "$(stat -c %a "$work/data")" "700" "data directory mode"
for f in "$work"/data/*; do
  [[ -f "$f" ]] || continue
  assert_eq "$(stat -c %a "$f")" "600" "mode of $(basename "$f")"
done
ls "$work"/data/*-wal >/dev/null 2>&1 || fail "expected WAL files in the data directory"

kill -TERM "$TANDEMD_PID"
rc=0
wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" "0" "exit code after SIGTERM"

# Files an older version left readable are made private at start.
chmod 755 "$work/data"
chmod 644 "$work"/data/*.db
start_tandemd "$bin" "$work"
assert_eq "$(stat -c %a "$work/data")" "700" "data directory mode after restart"
for f in "$work"/data/*.db; do assert_eq "$(stat -c %a "$f")" "600" "mode of $(basename "$f") after restart"; done
kill -TERM "$TANDEMD_PID"
wait "$TANDEMD_PID"
echo "hostile input: ok"
