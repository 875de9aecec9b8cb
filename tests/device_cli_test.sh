#!/usr/bin/env bash
# Linked devices end to end with the real binaries: a companion profile is
# linked to an account with a link code, receives new messages and the
# sync copies of what the primary sends (and the primary of what it sends),
# is listed, and is removed, after which its credentials stop working at
# once. Bad and expired codes are refused.
source "$(dirname "$0")/messenger_lib.sh"
tandemd=$1
tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} ${LINK_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

start_tandemd "$tandemd" "$work"
export TANDEM_SERVER=$TANDEMD_ADDR
A=+14155550101 B=+14155550102

register a $A; register b $B
t a send $B "plain-before-link" >/dev/null; t b inbox >/dev/null

# Link: the new profile shows a code and waits; the primary adds it.
t a2 --json device link --timeout 60 > link.out 2>&1 &
LINK_PID=$!
for _ in $(seq 1 100); do grep -q link_code link.out && break; sleep 0.1; done
code=$(jq -r 'select(.kind == "link_code") | .code' link.out)
[[ $code == tandem-link:* ]] || fail "no link code: $(cat link.out)"
t a device add "$code" > add.out
wait $LINK_PID || fail "linking failed: $(cat link.out)"
LINK_PID=
assert_eq "$(jq -r 'select(.kind == "linked") | .device_id' link.out)" 2 "the companion is device 2"
assert_contains "$(t a device list)" "this device" "the primary lists its devices"
assert_eq "$(t a --json device list | grep -c '"device_id"')" 2 "two devices"

# A message to the account reaches both devices.
t b send $A "plain-to-both" >/dev/null
t a --json inbox > a1.out; t a2 --json inbox > a2-1.out
assert_eq "$(count plain-to-both a1.out)" 1 "the primary got it"
assert_eq "$(count plain-to-both a2-1.out)" 1 "the companion got it"

# What one device sends, the other shows as sent (a sync copy).
t a send $B "plain-from-primary" >/dev/null
t a2 --json inbox > a2-2.out
jq -s -e 'any(.[]; .event == "sent" and .text == "plain-from-primary")' a2-2.out >/dev/null \
  || fail "the companion has no sync copy: $(cat a2-2.out)"
t a2 send $B "plain-from-companion" >/dev/null
t b --json inbox > b1.out
assert_eq "$(count plain-from-primary b1.out)" 1 "B got the primary's message"
assert_eq "$(count plain-from-companion b1.out)" 1 "B got the companion's message"
t a --json inbox > a2.out
jq -s -e 'any(.[]; .event == "sent" and .text == "plain-from-companion")' a2.out >/dev/null \
  || fail "the primary has no sync copy: $(cat a2.out)"
assert_contains "$(t a2 history $B)" "plain-from-primary" "the companion's history has the whole conversation"

# Remove the companion: its credentials stop working at once.
t a device remove 2 >/dev/null
rc=0; t a2 inbox 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "a removed device still connects"
assert_contains "$(cat err.out)" "removed" "the removed device is told"
t b send $A "plain-after-removal" >/dev/null
t a --json inbox > a3.out
assert_eq "$(count plain-after-removal a3.out)" 1 "the primary still gets messages"

# Bad and expired codes.
rc=0; t a device add "tandem-link:nonsense" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "a malformed code was accepted"
rc=0; t a3 device link --timeout 1 > late.out 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "linking without a primary succeeded"
assert_contains "$(cat err.out)" "in time" "an unanswered code times out clearly"

kill -TERM "$TANDEMD_PID"
rc=0; wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" 0 "tandemd's exit status after SIGTERM"
for f in "$work"/data/messenger.db*; do
  if grep -a -q "plain-" "$f"; then fail "plaintext found in $f"; fi
done
echo "device cli: ok"
