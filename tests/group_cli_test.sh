#!/usr/bin/env bash
# Groups end to end with the real binaries: one relay and five messenger
# users (tandem CLI profiles). A group is created, messages fan out from
# one submission to every member, a member is added, the group renamed, a
# member removed (who then gets nothing sent after), a 20 MiB attachment
# reaches every member and a tampered one is refused, bad input is refused,
# a kill -9 of the relay during group sends loses nothing acknowledged and
# shows nothing twice, and the relay's files hold no plaintext.
source "$(dirname "$0")/messenger_lib.sh"
tandemd=$1
tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

start_tandemd "$tandemd" "$work"
export TANDEM_SERVER=$TANDEMD_ADDR
A=+14155550101 B=+14155550102 C=+14155550103 D=+14155550104 E=+14155550105

for p in a:$A b:$B c:$C d:$D e:$E; do register "${p%%:*}" "${p#*:}"; done

# Create: every member learns the group.
t a --json group create "Trip" $B $C $D > create.out
G=$(jq -r 'select(.kind == "group_created") | .id' create.out)
[[ ${#G} -eq 64 ]] || fail "group id: $(cat create.out)"
for p in b c d; do
  t $p --json inbox > $p-1.out
  jq -s -e --arg g "$G" 'any(.[]; .event == "group-update" and .group == $g and .title == "Trip")' $p-1.out >/dev/null \
    || fail "$p did not learn the group: $(cat $p-1.out)"
done
assert_contains "$(t b group show "${G:0:8}")" "$A" "B sees A in the group"
assert_contains "$(t b group list)" "Trip" "B lists the group"

# A message to the group reaches each member once.
t a send --group "${G:0:8}" "plain-group-hello" > send.out
assert_contains "$(cat send.out)" 'sent to "Trip"' "the sender is told"
for p in b c d; do
  t $p --json inbox > $p-2.out
  assert_eq "$(count plain-group-hello $p-2.out)" 1 "$p got the group message once"
done
assert_contains "$(t c history --group "${G:0:8}")" "plain-group-hello" "C's history of the group"

# Only admins change the group; unknown groups are refused.
rc=0; t b group rename "$G" "Mine" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "a member renamed the group"
assert_contains "$(cat err.out)" "only the group's admins" "non-admin rename"
rc=0; t a send --group deadbeef "x" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "sending to an unknown group succeeded"
assert_contains "$(cat err.out)" "no group deadbeef" "unknown group"

# Add E, rename; E gets what is sent next.
t a group add "$G" $E >/dev/null
t a group rename "$G" "Trip 2026" >/dev/null
t a send --group "$G" "plain-group-welcome" >/dev/null
t e --json inbox > e-1.out
assert_eq "$(count plain-group-welcome e-1.out)" 1 "the added member reads new messages"
jq -s -e 'any(.[]; .event == "group-update" and .title == "Trip 2026")' e-1.out >/dev/null || fail "E sees the title"
t b --json inbox > b-3.out
jq -s -e 'any(.[]; .event == "group-update" and .title == "Trip 2026")' b-3.out >/dev/null || fail "B sees the rename"

# Remove D: D is told, and gets nothing sent after.
t a group remove "$G" $D >/dev/null
t d --json inbox > d-3.out
jq -s -e 'any(.[]; .event == "group-update" and (.detail | contains("no longer a member")))' d-3.out >/dev/null \
  || fail "D is told of the removal: $(cat d-3.out)"
for p in b c e; do t $p inbox >/dev/null; done   # the others learn of it too
t a send --group "$G" "plain-group-after-removal" >/dev/null
t c send --group "$G" "plain-group-c-after-removal" >/dev/null
for p in b e; do
  t $p --json inbox > $p-4.out
  assert_eq "$(count plain-group-after-removal $p-4.out)" 1 "$p got A's message after the removal"
  assert_eq "$(count plain-group-c-after-removal $p-4.out)" 1 "$p got C's message after the removal"
done
t d --json inbox > d-4.out
assert_eq "$(count plain-group-after d-4.out)" 0 "the removed member got nothing"
rc=0; t d send --group "$G" "x" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "a removed member sent to the group"

# A 20 MiB attachment to the group: each member saves exactly the file;
# once every member has it, the relay deletes its blob.
python3 -c 'import sys; sys.stdout.write(("plain-attachment-content\n" * 900000)[:20971520])' > big.txt
t a send --group "$G" --attach big.txt "plain-with-attachment" >/dev/null
blobs() { find "$work/data/attachments" -type f ! -name '*.part' | wc -l; }
assert_eq "$(blobs)" 1 "one blob stored for the group"
for p in b c e; do
  t $p --json inbox --save-dir "$work/$p-files" > $p-att.out
  jq -s -e 'any(.[]; .event == "message" and .text == "plain-with-attachment" and (.saved | length) == 1)' \
    $p-att.out >/dev/null || fail "$p did not save the attachment: $(cat $p-att.out)"
  cmp -s big.txt "$work/$p-files/big.txt" || fail "$p's copy of the attachment differs"
done
for _ in $(seq 1 100); do [[ $(blobs) -eq 0 ]] && break; sleep 0.1; done
assert_eq "$(blobs)" 0 "the blob went once every member had the message"

# A blob altered on the relay is refused by its digest; nothing is saved.
printf 'plain-small-attachment' > small.txt
t a send --group "$G" --attach small.txt "plain-tampered" >/dev/null
blob=$(find "$work/data/attachments" -type f ! -name '*.part' | head -1)
[[ -n $blob ]] || fail "no blob for the second attachment"
printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
t b --json inbox --save-dir "$work/b-tampered" > b-tamper.out
jq -s -e 'any(.[]; .event == "failed" and (.detail | contains("digest")))' b-tamper.out >/dev/null \
  || fail "the tampered blob was not refused: $(cat b-tamper.out)"
[[ -z $(ls -A "$work/b-tampered" 2>/dev/null) ]] || fail "something of the tampered blob was saved"
rc=0; t a send --group "$G" --attach "$work/no-such-file" "x" 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "attaching a missing file succeeded"
assert_contains "$(cat err.out)" "no such file to attach" "a missing file"
for p in c e; do t $p inbox >/dev/null; done

# Crash during an upload: the relay is killed while a 60 MiB attachment
# travels; the client resumes from the relay's offset once it is back.
python3 -c 'import sys; sys.stdout.write(("plain-resumed-content\n" * 2900000)[:62914560])' > resumed.txt
( t a send --group "$G" --attach resumed.txt "plain-resumed-upload" > resume-send.out 2>&1 ) &
SENDER=$!
midway=no
for _ in $(seq 1 250); do
  if [[ -n $(find "$work/data/attachments" -name '*.part' -size +1k 2>/dev/null) ]]; then midway=yes; break; fi
  sleep 0.02
done
kill -9 "$TANDEMD_PID"
assert_eq "$midway" yes "the relay was killed in the middle of the upload"
wait "$TANDEMD_PID" 2>/dev/null || true
TANDEMD_LISTEN=$TANDEMD_ADDR start_tandemd "$tandemd" "$work"
wait $SENDER || fail "the upload did not survive the relay's restart: $(cat resume-send.out)"
t b --json inbox --save-dir "$work/b-resumed" > b-resumed.out
cmp -s resumed.txt "$work/b-resumed/resumed.txt" || fail "the resumed attachment differs: $(cat b-resumed.out)"
for p in c e; do t $p inbox >/dev/null; done

# Crash: kill -9 the relay while A sends 15 group messages. Every member
# sees each exactly once after the restart.
( for i in $(seq 1 15); do t a send --group "$G" "plain-gcrash-$i" >>crash-send.out 2>&1 || true; done ) &
SENDER=$!
sleep 0.6
kill -9 "$TANDEMD_PID"
wait "$TANDEMD_PID" 2>/dev/null || true
wait $SENDER
acked=$(grep -c '^sent ' crash-send.out || true)
TANDEMD_LISTEN=$TANDEMD_ADDR start_tandemd "$tandemd" "$work"
t a --json inbox >/dev/null || true   # flushes A's outbox
for p in b c e; do
  t $p --json inbox > $p-5.out
  for i in $(seq 1 15); do assert_eq "$(count "\"plain-gcrash-$i\"" $p-5.out)" 1 "$p: crash message $i once"; done
  t $p --json inbox > $p-6.out
  assert_eq "$(count plain-gcrash $p-6.out)" 0 "$p: nothing twice"
done
echo "group crash: $acked of 15 acknowledged before the kill; all 15 reached every member once"

# No plaintext in the relay's files.
kill -TERM "$TANDEMD_PID"
rc=0; wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" 0 "tandemd's exit status after SIGTERM"
for f in "$work"/data/messenger.db* $(find "$work/data/attachments" -type f); do
  if grep -a -q "plain-" "$f"; then fail "plaintext found in $f"; fi
done
echo "group cli: ok"
