#!/usr/bin/env bash
# The social network end to end through the real binaries: accounts with
# verification codes, friends, blocks, address books, suggestions, and the
# effect of messenger links, objections and deletions arriving over the feed
# (social_feed_peer plays the messenger's feed endpoint).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2 peer=$3
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}" ${TANDEMD_PID:-}; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

start_peer "$peer" "$work" peer --token s3cret --events 0 --control
pids+=("$PEER_PID")
FEED=$PEER_ADDR
start_tandemd "$tandemd" "$work" --set feed.url="$FEED" --set feed.token=s3cret --set feed.poll_interval_ms=50
export TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR
# Sign-ins land in this profile; the tokens the test keeps are given as
# $TANDEM_SOCIAL_TOKEN, which overrides the profile's.
export TANDEM_PROFILE="$work/cli-profile.db"
codes="$work/data/social-verification-codes.log"

# register NAME NUMBER: prints the session token.
register() {
  "$tandem" social register --phone "$2" --region US >/dev/null
  local e164 code
  e164=$("$tandem" phone normalize --region US <<<"$2" 2>/dev/null | tail -1 | cut -d, -f2)
  code=$(awk -v p="$e164" '$(NF-1) == p { c = $NF } END { print c }' "$codes")
  [[ -n "$code" ]] || fail "no code logged for $e164"
  "$tandem" social verify --phone "$2" --region US --code "$code" --name "$1" --print-token
}
feed() { curl -sf -X POST "http://$FEED/test/events" -d "$1" >/dev/null || fail "feed append"; }
suggestions_of() { TANDEM_SOCIAL_TOKEN=$1 "$tandem" --json social suggestions | jq -r .account_id | tr '\n' ' '; }

alice=$(register Alice "(650) 253-0001")
bob=$(register Bob "650-253-0002")
carol=$(register Carol "+1 650 253 0003")
dave=$(register Dave "+16502530004")
[[ ${#alice} == 64 ]] || fail "token looks wrong: $alice"
# A wrong code is refused.
"$tandem" social register --phone +16502530005 >/dev/null
rc=0; "$tandem" social verify --phone +16502530005 --code 999999x 2>"$work/err" || rc=$?
assert_eq "$rc" "1" "wrong code exit"
assert_contains "$(cat "$work/err")" "wrong verification code" "wrong code message"

# Profiles.
out=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" --json social profile)
assert_eq "$(jq -r .phone <<<"$out")" "+16502530001" "own phone"
assert_contains "$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social profile)" "findable by phone  no" "profile for people"
assert_eq "$(jq -r .discoverable_by_phone <<<"$out")" "false" "not discoverable by default"

# Friends: alice-carol, carol-dave => dave is suggested to alice (1 mutual).
TANDEM_SOCIAL_TOKEN=$alice "$tandem" social friend request 3 >/dev/null
TANDEM_SOCIAL_TOKEN=$carol "$tandem" social friend accept 1 >/dev/null
TANDEM_SOCIAL_TOKEN=$dave "$tandem" social friend request 3 >/dev/null
TANDEM_SOCIAL_TOKEN=$carol "$tandem" social friend accept 4 >/dev/null
assert_eq "$(suggestions_of "$alice")" "4 " "mutual friend suggestion"
out=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social suggestions)
assert_contains "$out" "Dave" "suggested by name"
assert_contains "$out" "1 mutual friends" "reason shown in words"
assert_contains "$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" --json social suggestions)" '"mutual_friends:1"' "reason in JSON"

# Alice uploads an address book with bob's number and some bad rows.
printf 'name,phone\nBob,(650) 253-0002\nNobody,+49 30 901820\nShort,12\nBroken,"oops\n' >"$work/contacts.csv"
out=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social address-book upload "$work/contacts.csv" --header --column phone --region US 2>"$work/err")
assert_contains "$out" "stored 2 numbers, rejected 2; you can add 9998 more new numbers now" "upload summary"
assert_contains "$(cat "$work/err")" "line 4: " "invalid row reported with its line"
assert_contains "$(cat "$work/err")" "line 5: malformed CSV" "malformed row reported"
# Bob is not discoverable and not linked: not suggested yet.
assert_eq "$(suggestions_of "$alice")" "4 " "bob not findable yet"

# Bob's number is linked through the messenger: within moments he is suggested.
feed '{"type":"account_linked","account_id":"m-bob","at":1700000000,"phone":"+16502530002"}'
feed '{"type":"usage_summary","account_id":"m-bob","at":1700000001,"day":"2026-11-28","active_days_28":20,"last_active_day":"2026-11-28"}'
has_bob() { [[ "$(suggestions_of "$alice")" == *"2 "* ]]; }
no_bob() { [[ "$(suggestions_of "$alice")" != *"2 "* ]]; }
wait_until 30 has_bob
# The usage summary may arrive in a later poll than the link.
bob_active() { TANDEM_SOCIAL_TOKEN=$alice "$tandem" social suggestions | grep -q "in your contacts, uses the messenger"; }
wait_until 30 bob_active
# ...and alice appears to bob, because she has his number.
assert_contains "$(suggestions_of "$bob")" "1 " "has-your-number direction"

# Bob objects to friend suggestions on the messenger: gone, measured.
start=$(date +%s%N)
feed '{"type":"objection_changed","account_id":"m-bob","at":1700000002,"purpose":"friend_suggestions","objected":true}'
wait_until 30 no_bob
echo "objection enforced after $(( ($(date +%s%N) - start) / 1000000 )) ms (poll interval 50 ms)"
[[ "$(suggestions_of "$bob")" != *"1 "* ]] || fail "bob's own findability must also be hidden"
facts=$(curl -s -H "Authorization: Bearer $bob" "http://$TANDEMD_ADDR/v1/social/me/facts?purpose=friend_suggestions")
[[ "$facts" != *messenger* ]] || fail "objected messenger facts visible: $facts"
facts=$(curl -s -H "Authorization: Bearer $bob" "http://$TANDEMD_ADDR/v1/social/me/facts?purpose=ads")
assert_contains "$facts" '"provenance":"messenger"' "ads purpose still sees the facts"
# Withdrawing restores it.
feed '{"type":"objection_changed","account_id":"m-bob","at":1700000003,"purpose":"friend_suggestions","objected":false}'
wait_until 30 has_bob
# Deleting the messenger account removes every messenger fact.
feed '{"type":"account_deleted","account_id":"m-bob","at":1700000004}'
wait_until 30 no_bob
facts=$(curl -s -H "Authorization: Bearer $bob" "http://$TANDEMD_ADDR/v1/social/me/facts?purpose=security")
[[ "$facts" != *messenger* ]] || fail "messenger facts left after deletion: $facts"
# Bob's own choice to be findable by phone is social data and works alone.
TANDEM_SOCIAL_TOKEN=$bob "$tandem" social profile --discoverable true >/dev/null
wait_until 5 has_bob

# Dismiss and block.
TANDEM_SOCIAL_TOKEN=$alice "$tandem" social dismiss 2 >/dev/null
assert_eq "$(suggestions_of "$alice")" "4 " "dismissed"
TANDEM_SOCIAL_TOKEN=$dave "$tandem" social block 1 >/dev/null
assert_eq "$(suggestions_of "$alice")" "" "blocked by dave"
rc=0; TANDEM_SOCIAL_TOKEN=$alice "$tandem" social friend request 4 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "request to someone who blocked you (failed_precondition)"

# Bad input: clear errors, nothing applied.
code=$(curl -s -o "$work/out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $alice" \
  "http://$TANDEMD_ADDR/v1/social/address-book" -d '{"region":"US","entries":["+16502530002", 7]}')
assert_eq "$code" "400" "malformed address book"
assert_contains "$(cat "$work/out")" "entries[1] is not a string" "malformed address book message"
book=$(TANDEM_SOCIAL_TOKEN=$alice "$tandem" social address-book show 2>/dev/null | paste -sd,)
assert_eq "$book" "+16502530002,+4930901820" "address book unchanged"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" "http://$TANDEMD_ADDR/v1/social/suggestions")
assert_eq "$code" "401" "bad token"
# The upload answer says nothing about who uses the numbers.
out=$(curl -s -X PUT -H "Authorization: Bearer $alice" "http://$TANDEMD_ADDR/v1/social/address-book" \
  -d '{"region":"US","entries":["+16502530002","+4930901820"]}')
assert_eq "$(jq -c 'keys' <<<"$out")" '["budget_remaining","rejected","stored"]' "upload answer fields"
# Over the per-address limit, even garbage gets a 429 (not a parse error).
limited() {
  curl -s -o "$work/out" -w '%{http_code}' -X POST "http://$TANDEMD_ADDR/v1/social/register" -d "{\"phone\":\"$1\"}"
}
for i in $(seq 10 40); do rc=$(limited "+1650301$(printf %04d "$i")"); [[ "$rc" == 429 ]] && break; done
assert_eq "$rc" "429" "register rate-limited per address"
assert_eq "$(limited "$(printf '7%.0s' {1..60})x")" "429" "limited address refused before parsing"
assert_contains "$(cat "$work/out")" "try again in" "retry hint"

# The feed state survived as applied; a consumer with the wrong feed token
# applies nothing and says why.
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"
cursor_before=$("$peer" dump --db "$work/data/social.db" | sed -n 1p)
start_tandemd "$tandemd" "$work" --set feed.url="$FEED" --set feed.token=wrong --set feed.error_backoff_ms=50
feed '{"type":"account_linked","account_id":"m-x","at":1700000005,"phone":"+16502530009"}'
stalled() { [[ "$(metric "$TANDEMD_ADDR" tandem_social_feed_stalled)" == "1" ]]; }
wait_until 30 stalled
assert_contains "$(curl -s "http://$TANDEMD_ADDR/metrics")" 'tandem_social_feed_errors_total{reason="unauthenticated"}' "credential errors counted"
grep -q "feed credentials" "$work/tandemd.log" || fail "credential error not logged"
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"
assert_eq "$("$peer" dump --db "$work/data/social.db" | sed -n 1p)" "$cursor_before" "nothing applied with a wrong token"

# A feed that does not know our cursor (e.g. the wrong messenger operator).
start_peer "$peer" "$work" peer2 --token s3cret --events 2
pids+=("$PEER_PID")
start_tandemd "$tandemd" "$work" --set feed.url="$PEER_ADDR" --set feed.token=s3cret --set feed.error_backoff_ms=50
wait_until 30 stalled
assert_contains "$(curl -s "http://$TANDEMD_ADDR/metrics")" 'tandem_social_feed_errors_total{reason="bad_cursor"}' "bad cursor counted"
grep -q "unknown cursor" "$work/tandemd.log" || fail "unknown cursor not logged"
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"
assert_eq "$("$peer" dump --db "$work/data/social.db" | sed -n 1p)" "$cursor_before" "nothing applied on a bad cursor"

# An unknown event type stops the consumer at the event before it.
start_peer "$peer" "$work" peer3 --token s3cret --events 50 --accounts 10 --append-bad-type contacts_uploaded
pids+=("$PEER_PID")
mkdir -p "$work/w3"
start_tandemd "$tandemd" "$work/w3" --set feed.url="$PEER_ADDR" --set feed.token=s3cret --set feed.error_backoff_ms=50
wait_until 30 stalled
assert_eq "$(metric "$TANDEMD_ADDR" tandem_social_feed_cursor)" "50" "stopped before the unknown event"
grep -q "unknown event type 'contacts_uploaded'" "$work/w3/tandemd.log" || fail "unknown type not logged"
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"
echo "social cli: ok"
