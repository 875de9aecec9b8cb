#!/usr/bin/env bash
# The demo world end to end: `tandemd serve --demo` on a fresh data
# directory reports demo.ready; the bakery's audience shows a size range;
# Dana's profile (data/demo/dana.db) sees the bakery's ad and why; a newly
# registered Alice (the normal code flows of both operators) gets demo
# people as suggestions, with reasons; Dana's objection to ads through the
# messenger removes the ad; the ordinary limit on code requests per address
# still applies; a second start with --demo creates nothing and points the
# profiles at the new address.
#
# Every command uses a profile's own sign-in; the settings table is read
# with sqlite3 only to check what the demo stored.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

# start_demo: tandemd serve --demo on a free port; it reports ready once
# the world exists, so the wait is longer than start_tandemd's.
start_demo() {
  rm -f ready
  "$tandemd" serve --listen 127.0.0.1:0 --data-dir data --ready-file ready --demo >>tandemd.log 2>&1 &
  TANDEMD_PID=$!
  local deadline=$(( $(date +%s) + 60 ))
  until [[ -s ready ]]; do
    kill -0 "$TANDEMD_PID" 2>/dev/null || { cat tandemd.log >&2; fail "tandemd --demo exited during start-up"; }
    (( $(date +%s) < deadline )) || fail "tandemd --demo was not ready within 60 s"
    sleep 0.05
  done
  TANDEMD_ADDR=$(cat ready)
}
setting() { sqlite3 "$1" "SELECT value FROM settings WHERE key = '$2'"; }
counts() {
  sqlite3 data/messenger.db "SELECT COUNT(*) FROM accounts; SELECT COUNT(*) FROM usage_daily"
  sqlite3 data/social.db "SELECT COUNT(*) FROM accounts; SELECT COUNT(*) FROM friendships;
    SELECT COUNT(*) FROM address_book; SELECT COUNT(*) FROM posts; SELECT COUNT(*) FROM ads_advertisers;
    SELECT COUNT(*) FROM ads_audiences; SELECT COUNT(*) FROM ads_campaigns"
}

started=$(date +%s)
start_demo
grep -q 'info demo.ready created=true messenger_users=300 social_accounts=250' tandemd.log ||
  fail "no demo.ready with the counts: $(grep demo tandemd.log)"
echo "demo world ready in $(( $(date +%s) - started )) s"
assert_contains "$(cat tandemd.log)" "profiles: data/demo/dana.db (sees the bakery's ad), data/demo/bakery.db (the advertiser)" \
  "the profiles are named on stderr"
[[ -f data/demo/world.json ]] || fail "no marker"
aud=$(jq -r .audience_id data/demo/world.json)
export TANDEM_SERVER=$TANDEMD_ADDR TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR TANDEM_ADS_SERVER=$TANDEMD_ADDR

# The profiles hold what the walk-through needs.
assert_eq "$(setting data/demo/dana.db server)" "$TANDEMD_ADDR" "Dana's profile: server"
assert_eq "$(setting data/demo/bakery.db server)" "$TANDEMD_ADDR" "the bakery's profile: server"
dana=$(setting data/demo/dana.db social.token)
bakery=$(setting data/demo/bakery.db ads.token)
[[ ${#dana} == 64 && ${#bakery} == 64 ]] || fail "tokens missing from the profiles"
assert_eq "$(setting data/demo/dana.db social.account_id)" "$(jq -r .dana_social_account_id data/demo/world.json)" \
  "Dana's social account id"
assert_eq "$(setting data/demo/bakery.db ads.advertiser_id)" "$(jq -r .advertiser_id data/demo/world.json)" \
  "the bakery's advertiser id"
assert_eq "$(sqlite3 data/demo/dana.db 'SELECT number FROM account')" "+16505550100" "Dana's messenger account"

# The audience is well above the minimum: a range, targetable.
out=$("$tandem" --profile data/demo/bakery.db ads audience show "$aud")
assert_contains "$out" '"Loyalty card holders": ready' "audience ready"
[[ "$out" =~ size:\ [0-9,]+\ to\ [0-9,]+\ people ]] || fail "no size range: $out"
[[ "$out" != *"too small"* ]] || fail "audience below the threshold: $out"

# Dana sees the bakery's ad, and why.
timeline=$("$tandem" --profile data/demo/dana.db --json timeline show)
assert_contains "$timeline" '"title":"Fresh rye"' "the ad in Dana's timeline"
imp=$(jq -r 'select(.type == "ad") | .impression_id' <<<"$timeline" | head -1)
why=$("$tandem" --profile data/demo/dana.db timeline why "$imp")
assert_contains "$why" "Corner Bakery uploaded a list of its customers' phone numbers (\"Loyalty card holders\")" \
  "why names the customer list"
assert_contains "$why" "the messenger you use with this number shares it with us" "why names the messenger"

# Alice registers on the messenger and the social network the usual way.
ALICE=+14155550101
"$tandem" --profile alice.db register $ALICE >/dev/null
"$tandem" --profile alice.db verify $ALICE "$(tail -1 data/verification-codes.log | awk '{print $NF}')" >/dev/null
"$tandem" --profile alice.db social register --phone $ALICE >/dev/null
"$tandem" --profile alice.db social verify --phone $ALICE \
  --code "$(tail -1 data/social-verification-codes.log | awk '{print $NF}')" --name Alice >/dev/null
suggested() { [[ "$("$tandem" --profile alice.db social suggestions | grep -c "has your number")" -ge 5 ]]; }
wait_until 30 suggested
out=$("$tandem" --profile alice.db social suggestions)
echo "Alice's suggestions:"; echo "$out" | head -3
assert_contains "$out" "Dana Reyes" "Dana (who has Alice's number) is suggested"

# Dana objects to ads on the messenger, with her profile: the ad goes.
"$tandem" --profile data/demo/dana.db privacy object ads >/dev/null
no_ad() { [[ "$("$tandem" --profile data/demo/dana.db --json timeline show | jq -s '[.[] | select(.type == "ad")] | length')" == 0 ]]; }
wait_until 5 no_ad

# The demo spent nothing of the limits on code requests from 127.0.0.1
# (Alice used one), and they still hold: within about 20 requests the
# address is refused.
area_codes=(201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 220 224 225 228 229 231 234 239)
ok=0 refused=0
for a in "${area_codes[@]}"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$TANDEMD_ADDR/v1/registration/code" \
           -d "{\"number\": \"+1${a}5550100\"}")
  if [[ $status == 200 ]]; then ok=$((ok + 1)); elif [[ $status == 429 ]]; then refused=1; break; fi
done
[[ $refused == 1 ]] || fail "code requests from one address were never refused ($ok accepted)"
(( ok >= 18 && ok <= 20 )) || fail "$ok code requests accepted before the refusal; expected 19 (20 per address)"

# A second start with --demo reuses the world.
before=$(counts)
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID" 2>/dev/null || true
start_demo
assert_contains "$(grep demo.ready tandemd.log | tail -1)" "created=false messenger_users=300 social_accounts=250" \
  "the world is reused"
assert_eq "$(counts)" "$before" "nothing created twice"
assert_eq "$(setting data/demo/dana.db server)" "$TANDEMD_ADDR" "Dana's profile follows the new address"
out=$("$tandem" --profile data/demo/dana.db privacy show)
grep -Eq "^ads +yes " <<<"$out" || fail "Dana's profile works against the restarted server: $out"
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID" 2>/dev/null || true; TANDEMD_PID=
echo "PASS"
