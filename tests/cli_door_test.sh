#!/usr/bin/env bash
# The command line as a newcomer meets it, through the real binaries:
#  - hints repeat the options the user gave (--profile, --server);
#  - one --server / $TANDEM_SERVER for every role, and a warning when an
#    option is ignored;
#  - `inbox --follow --read` sends each read receipt as the message is shown;
#  - receipts name the message they confirm, `--json` sent events carry the
#    peer, `history` has times and statuses;
#  - a profile whose number was registered again elsewhere is told so (also
#    after a relay restart), turns inactive, and its queued message fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} ${FOLLOW_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
unset TANDEM_SERVER TANDEM_PROFILE TANDEM_SOCIAL_SERVER TANDEM_ADS_SERVER

start_tandemd "$tandemd" "$work"
S=$TANDEMD_ADDR
A=+14155550121 B=+14155550122 E=+14155550125
code_for() { awk -v n="$1" '$(NF-1) == n { c = $NF } END { print c }' "$work/data/verification-codes.log"; }

# 2. The hint after `register` keeps --profile and --server; run as printed
# (with the code filled in), it works.
out=$("$tandem" --profile dave.db --server "$S" register $A)
assert_contains "$out" "finish with: tandem --profile dave.db --server $S verify $A CODE" "hint keeps the options"
hint=${out#*finish with: tandem }
eval "\"$tandem\" ${hint/CODE/$(code_for $A)}" >verify.out
assert_contains "$(cat verify.out)" "registered $A on $S (profile dave.db)" "the hinted command works"

# 3. The profile remembers the server: later commands need no --server; a
# different --server is ignored with a warning, not silently.
"$tandem" --profile bob.db --server "$S" register $B >/dev/null
"$tandem" --profile bob.db verify $B "$(code_for $B)" >/dev/null
"$tandem" --profile dave.db --server 127.0.0.1:9 history 2>warn.out >/dev/null
assert_contains "$(cat warn.out)" "warning: --server 127.0.0.1:9 is ignored: this profile's account is on $S" "ignored --server"
printf '4155550123\n' | "$tandem" --server "$S" phone normalize --region US 2>warn.out >/dev/null
assert_contains "$(cat warn.out)" "warning: --server is ignored" "phone warns"
# One $TANDEM_SERVER reaches the social network too (no role variable set).
out=$(TANDEM_SERVER=$S "$tandem" --profile social.db social register --phone "(650) 253-0121" --region US)
assert_contains "$out" "a verification code was sent" "TANDEM_SERVER serves the social role"
# ...and the top-level --server is no longer ignored by `social`.
out=$("$tandem" --profile social2.db --server "$S" social register --phone "(650) 253-0122" --region US)
assert_contains "$out" "finish with: tandem --profile social2.db --server $S social verify" "social hint keeps the options"

# 8. Read receipts as messages are shown: Bob follows with --read; Dave sees
# `read` while Bob is still following (not when he stops).
"$tandem" --profile bob.db --json inbox --follow --read >follow.out 2>&1 &
FOLLOW_PID=$!
sleep 0.5
"$tandem" --profile dave.db --json send $B "hello Bob" >send.out
jq -s -e --arg b "$B" 'any(.[]; .event == "sent" and .peer == $b and .text == "hello Bob")' send.out >/dev/null \
  || fail "sent event carries the peer and the text: $(cat send.out)"
got_read() { "$tandem" --profile dave.db inbox >>dave-inbox.out 2>&1; grep -q "read by $B: \"hello Bob\"" dave-inbox.out; }
wait_until 20 got_read
kill -0 $FOLLOW_PID || fail "the follower stopped before the read receipt was seen"
kill -TERM $FOLLOW_PID; wait $FOLLOW_PID || true; FOLLOW_PID=
assert_contains "$(cat dave-inbox.out)" "delivered to $B: \"hello Bob\"" "receipts name the message"
"$tandem" --profile dave.db history $B >history.out
grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [A-Z+0-9-]+ +-> +\\$B +read +hello Bob" history.out \
  || fail "history has time, direction, peer, status, text: $(cat history.out)"

# A message to a number without an account: the number is named, and the
# message is kept in history as failed.
rc=0; "$tandem" --profile dave.db send +14155550129 "anyone?" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "sending to a number without an account succeeded"
assert_contains "$(cat err.out)" "+14155550129 has no messenger account" "the number is named"
"$tandem" --profile dave.db history +14155550129 | grep -Eq "failed +anyone\\?" || fail "failed message kept in history"

# 9. Erin's number is registered again on another device while her old
# profile has a message queued.
"$tandem" --profile erin.db --server "$S" register $E >/dev/null
"$tandem" --profile erin.db verify $E "$(code_for $E)" >/dev/null
"$tandem" --profile dave.db send $E "hi Erin" >/dev/null
"$tandem" --profile erin.db inbox >/dev/null          # a session with Dave
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID" || true
rc=0; "$tandem" --profile erin.db send $A "queued while the relay is down" 2>err.out || rc=$?
assert_eq "$rc" "3" "queued, not accepted"
TANDEMD_LISTEN=$S start_tandemd "$tandemd" "$work"
"$tandem" --profile erin-new.db --server "$S" register $E >/dev/null
"$tandem" --profile erin-new.db verify $E "$(code_for $E)" >/dev/null
# The relay restarts in between: what it knows of the replaced installation
# is durable.
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID" || true
TANDEMD_LISTEN=$S start_tandemd "$tandemd" "$work"
rc=0; "$tandem" --profile erin.db inbox >inbox.out 2>err.out || rc=$?
assert_eq "$rc" "2" "a replaced profile's exit code"
assert_contains "$(cat err.out)" "$E: this installation is no longer registered: its number was registered again on another device at 20" "what happened, and when"
assert_contains "$(cat inbox.out)" "! not sent to $A: \"queued while the relay is down\"" "the queued message is failed, and said so"
"$tandem" --profile erin.db history $A | grep -Eq "failed +queued while the relay is down" || fail "history shows it failed"
# From now on the profile is inactive, without asking the relay.
kill -STOP "$TANDEMD_PID"
rc=0; timeout 5 "$tandem" --profile erin.db send $A "again" 2>err.out || rc=$?
kill -CONT "$TANDEMD_PID"
assert_eq "$rc" "2" "inactive profile"
assert_contains "$(cat err.out)" "no longer registered" "inactive, said so"
assert_contains "$(cat err.out)" "tandem --profile erin.db register NUMBER" "how to use it again"
# The new installation works.
"$tandem" --profile dave.db send $E "hi again" >/dev/null
assert_contains "$("$tandem" --profile erin-new.db inbox)" "$A: hi again" "the new installation receives"
# Wrong credentials that never were valid still say only that.
code=$(curl -s -o err.json -w '%{http_code}' -u "1.1:wrongpassword" "http://$S/v1/keys/count")
assert_eq "$code" "401" "wrong credentials"
assert_eq "$(jq -r '.error.reason // "none"' err.json)" "none" "no reason for a guess"

kill -TERM "$TANDEMD_PID"; rc=0; wait "$TANDEMD_PID" || rc=$?; TANDEMD_PID=
assert_eq "$rc" "0" "tandemd exit status"
echo "cli door: ok"
