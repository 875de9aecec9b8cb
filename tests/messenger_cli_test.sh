#!/usr/bin/env bash
# End to end with the real binaries: one relay (tandemd) and four messenger
# users, each a `tandem` CLI profile. Covers offline and online delivery,
# ordering, delivery and read receipts, safety numbers, a re-registration
# key change, account deletion, bad input, a kill -9 of the relay while
# messages are being sent (nothing acknowledged is lost, nothing is shown
# twice), and a scan of the relay's files for plaintexts.
source "$(dirname "$0")/messenger_lib.sh"
tandemd=$1
tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} ${FOLLOW_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

start_tandemd "$tandemd" "$work"
export TANDEM_SERVER=$TANDEMD_ADDR
A=+14155550101 B=+14155550102 C=+14155550103 D=+14155550104


register a $A; register b $B; register c $C; register d $D

# Offline delivery and ordering: B is not connected while A sends.
for i in 1 2 3 4 5; do t a send $B "plain-a2b-$i" >/dev/null; done
t b --json inbox --read > b1.out
for i in 1 2 3 4 5; do assert_eq "$(count "plain-a2b-$i" b1.out)" 1 "B got message $i once"; done
order=$(grep -o 'plain-a2b-[0-9]' b1.out | tr '\n' ' ')
assert_eq "$order" "plain-a2b-1 plain-a2b-2 plain-a2b-3 plain-a2b-4 plain-a2b-5 " "order"

# Receipts (encrypted envelopes themselves) come back to A.
t a --json inbox > a1.out
assert_eq "$(count '"event":"delivered"' a1.out)" 5 "delivery receipts"
assert_eq "$(count '"event":"read"' a1.out)" 5 "read receipts"
t a history $B | grep -Eq -- "-> +\\$B +read +plain-a2b-5" || fail "A's history shows read: $(t a history $B)"

# Online delivery: B listens while C sends.
t b --json inbox --follow > b2.out 2>&1 &
FOLLOW_PID=$!
sleep 0.5
t c send $B "plain-c2b-live" >/dev/null
for _ in $(seq 1 100); do grep -q plain-c2b-live b2.out && break; sleep 0.05; done
assert_eq "$(count plain-c2b-live b2.out)" 1 "live delivery to a connected client"
kill -TERM $FOLLOW_PID; wait $FOLLOW_PID || true

# Safety numbers agree on both sides.
sn_ab=$(t a safety-number $B); sn_ba=$(t b safety-number $A)
assert_eq "$sn_ab" "$sn_ba" "safety numbers"
[[ $(echo "$sn_ab" | tr -d ' ' | wc -c) -eq 61 ]] || fail "safety number is not 60 digits: $sn_ab"

# Re-registration: D reinstalls (new profile, same number): a key change A sees.
t a send $D "plain-a2d-before" >/dev/null
register d2 $D
t d2 send $A "plain-d2a-after" >/dev/null
t a --json inbox > a2.out
jq -s -e --arg d "$D" 'any(.[]; .event == "key-changed" and .peer == $d)' a2.out >/dev/null || fail "key change event: $(cat a2.out)"
assert_eq "$(count plain-d2a-after a2.out)" 1 "message from the re-registered device"
[[ "$(t a safety-number $D)" != "$(t d safety-number $A 2>/dev/null || true)" ]] || fail "safety number did not change"
t a send $D "plain-a2d-after" >/dev/null
t d2 --json inbox > d2.out
assert_eq "$(count plain-a2d-after d2.out)" 1 "A reaches the new installation"

# D reinstalls again; A, not having heard of it, sends with the session of
# the installation before. The relay refuses that ciphertext as stale, A
# fetches the new keys and encrypts anew: the new installation can read it.
register d3 $D
t a --json send $D "plain-a2d-stale" > a3.out
jq -s -e --arg d "$D" 'any(.[]; .event == "key-changed" and .peer == $d)' a3.out >/dev/null || fail "key change found on send"
t d3 --json inbox > d3.out
assert_eq "$(count plain-a2d-stale d3.out)" 1 "the re-encrypted message reaches the newest installation once"
assert_contains "$(t a history $D)" "plain-a2d-stale" "A's history keeps the message"

# Bad input: clear errors, nothing sent.
rc=0; t a send "not a number" "x" 2>err.out || rc=$?
assert_eq "$rc" 2 "invalid number exit code"
assert_contains "$(cat err.out)" "not a phone number" "invalid number message"
rc=0; t a send +14155550999 "plain-to-nobody" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "sending to an unregistered number succeeded"
rc=0; "$tandem" --profile "$work/nobody.db" send $A hi 2>err.out || rc=$?
assert_contains "$(cat err.out)" "no profile at $work/nobody.db" "a profile that does not exist"
[[ ! -e "$work/nobody.db" ]] || fail "a command that needs a profile created one"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "1.1:wrongpassword" "http://$TANDEMD_ADDR/v1/keys/count")
assert_eq "$code" 401 "wrong credentials"

# Crash: kill -9 the relay while A sends 20 messages to C. Every message is
# either acknowledged or still in A's outbox, and C sees each exactly once.
( for i in $(seq 1 20); do t a send $C "plain-crash-$i" >>crash-send.out 2>&1 || true; done ) &
SENDER=$!
sleep 0.6
kill -9 "$TANDEMD_PID"
wait "$TANDEMD_PID" 2>/dev/null || true
wait $SENDER
acked_before=$(grep -c '^sent ' crash-send.out || true)
TANDEMD_LISTEN=$TANDEMD_ADDR start_tandemd "$tandemd" "$work"
t a --json inbox >/dev/null || true   # flushes A's outbox
t c --json inbox > c.out
for i in $(seq 1 20); do assert_eq "$(count "\"plain-crash-$i\"" c.out)" 1 "crash message $i delivered once"; done
t c --json inbox > c2.out
assert_eq "$(count plain-crash c2.out)" 0 "nothing delivered twice"
echo "crash: $acked_before of 20 acknowledged before the kill; all 20 delivered once"

# Account deletion: B's account is gone; sending to B fails clearly.
t b delete-account --yes >/dev/null
rc=0; t a send $B "plain-after-delete" 2>err.out >send.out || rc=$?
assert_eq "$rc" "1" "sending to a deleted account fails"
assert_contains "$(cat send.out)" "! not sent to $B: \"plain-after-delete\"" "the refusal is shown"

# The relay never stored a plaintext (and stops cleanly after all this).
kill -TERM "$TANDEMD_PID"
rc=0; wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" 0 "tandemd's exit status after SIGTERM"
for f in "$work"/data/messenger.db*; do
  if grep -a -q "plain-" "$f"; then fail "plaintext found in $f"; fi
done
echo "messenger cli: ok"
