#!/usr/bin/env bash
# Issue 5 end to end with the real binaries and no stand-ins: one tandemd in
# its embedded default (the social side consumes the messenger's own feed).
# A person registers on the messenger and on the social network with the
# same number; a contact who has that number in an uploaded address book is
# suggested; after objecting on the messenger the suggestion is gone (time
# printed), after withdrawing it is back, after deleting the messenger
# account nothing derived from messenger data remains.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

start_tandemd "$tandemd" "$work"
export TANDEM_SERVER=$TANDEMD_ADDR TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR
ALICE=+16502530101 BOB=+16502530102

# Messenger registration.
"$tandem" --profile alice.db register $ALICE >/dev/null
code=$(grep -- "$ALICE" data/verification-codes.log | tail -1 | awk '{print $3}')
"$tandem" --profile alice.db verify $ALICE "$code" >/dev/null

# Social registration (prints the token).
social_register() {
  "$tandem" --profile "social-$1.db" social register --phone "$2" >/dev/null
  local code
  code=$(awk -v p="$2" '$(NF-1) == p { c = $NF } END { print c }' data/social-verification-codes.log)
  "$tandem" --profile "social-$1.db" social verify --phone "$2" --code "$code" --name "$1" --print-token
}
alice=$(social_register Alice $ALICE)
bob=$(social_register Bob $BOB)
alice_id=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" --json social profile | jq -r .account_id)
[[ -n "$alice_id" && "$alice_id" != null ]] || fail "no social id for Alice"

# Bob has Alice's number in his address book.
printf '%s\n' "$ALICE" > book.txt
TANDEM_SOCIAL_TOKEN=$bob "$tandem" social address-book upload book.txt >/dev/null 2>&1

suggested() { TANDEM_SOCIAL_TOKEN=$bob "$tandem" --json social suggestions | jq -r .account_id | grep -qx "$alice_id"; }
not_suggested() { ! suggested; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# The messenger link (over the feed) makes Alice findable at her number.
wait_until 30 suggested
facts=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social facts --purpose friend_suggestions)
assert_contains "$facts" "messenger" "a messenger-provided fact is visible before objecting"

# Objection on the messenger: the suggestion is gone.
start=$(date +%s%N)
"$tandem" --profile alice.db privacy object friend_suggestions >/dev/null
wait_until 30 not_suggested
echo "objection enforced after $(ms_since "$start") ms"
# The ads purpose is unaffected by a friend_suggestions objection.
assert_contains "$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social facts --purpose ads)" "messenger" "ads still sees the link"

# The messenger shows what it shared, and when the social side fetched it.
shared=$("$tandem" --profile alice.db --json privacy shared)
assert_contains "$shared" '"type":"account_linked"' "shared view lists the link"
assert_contains "$shared" '"type":"objection_changed"' "shared view lists the objection"
[[ $(jq -s '[.[] | select(.shared_at == null)] | length' <<<"$shared") == 0 ]] || fail "events not marked as fetched"
shared=$("$tandem" --profile alice.db privacy shared)
assert_contains "$shared" "your number $ALICE (account created)" "shared view for people"
assert_contains "$shared" "you objected to friend suggestions" "the objection in words"
[[ "$shared" != *"not yet"* ]] || fail "everything was fetched: $shared"
"$tandem" --profile alice.db privacy export -o export.json 2>/dev/null
assert_eq "$(jq -r .account.number export.json)" "$ALICE" "export names the account"
assert_eq "$(jq '.privacy_changes | length' export.json)" "1" "export records the change"

# Withdrawing restores the suggestion.
start=$(date +%s%N)
"$tandem" --profile alice.db privacy withdraw friend_suggestions >/dev/null
wait_until 30 suggested
echo "withdrawal effective after $(ms_since "$start") ms"

# Deleting the messenger account removes every messenger fact.
start=$(date +%s%N)
"$tandem" --profile alice.db delete-account --yes >/dev/null
wait_until 30 not_suggested
# The profile says what happened, and how to start again.
rc=0; "$tandem" --profile alice.db privacy show 2>err.out || rc=$?
assert_eq "$rc" "2" "a deleted profile's exit code"
assert_contains "$(cat err.out)" "the messenger account $ALICE of this profile was deleted at" "deleted, said so"
assert_contains "$(cat err.out)" "tandem --profile alice.db register NUMBER" "how to start again"
echo "deletion effective after $(ms_since "$start") ms"
for purpose in friend_suggestions ads security; do
  facts=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social facts --purpose $purpose)
  if grep -q messenger <<<"$facts"; then fail "messenger fact left after deletion ($purpose): $facts"; fi
done
# The phone number no longer lingers in the messenger's outbox either.
kill -TERM "$TANDEMD_PID"; rc=0; wait "$TANDEMD_PID" || rc=$?
assert_eq "$rc" "0" "tandemd exit status on SIGTERM"
TANDEMD_PID=
[[ $(sqlite3 data/messenger.db "SELECT COUNT(*) FROM feed_events WHERE payload LIKE '%$ALICE%'") == 0 ]] \
  || fail "the deleted account's number is still in the feed outbox"
echo "data sharing: ok"
