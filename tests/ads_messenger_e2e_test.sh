#!/usr/bin/env bash
# Ads end to end with no stand-ins: one tandemd in its embedded default (the
# social side consumes the messenger's own feed). Dana registers on the
# messenger and on the social network with the same number, without making
# it findable on the social network; a bakery's customer list matches her
# only through the messenger-shared number; she sees the ad and why; after
# `tandem privacy object ads` on the messenger the ad is no longer served
# and the membership is gone (times printed).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

start_tandemd "$tandemd" "$work" --set ads.admin_token=opsecret --set ads.min_audience_size=1 \
  --set ads.size_margin=0 --set ads.noise_scale=0
# One server setting for every role.
export TANDEM_SERVER=$TANDEMD_ADDR
DANA=+16502530141

"$tandem" --profile dana.db register $DANA >/dev/null
code=$(grep -- "$DANA" data/verification-codes.log | tail -1 | awk '{print $3}')
"$tandem" --profile dana.db verify $DANA "$code" >/dev/null
# Sign-ins are kept in the profile: no token is handled by hand.
"$tandem" --profile dana.db social register --phone "$DANA" >/dev/null
code=$(awk -v p="$DANA" '$(NF-1) == p { c = $NF } END { print c }' data/social-verification-codes.log)
out=$("$tandem" --profile dana.db social verify --phone "$DANA" --code "$code" --name Dana)
assert_contains "$out" "the session is kept in dana.db" "social sign-in kept in the profile"
linked() { [[ "$("$tandem" --profile dana.db social facts --purpose ads)" == *messenger_link* ]]; }
wait_until 30 linked

out=$("$tandem" --profile bakery.db ads advertiser create --name "Corner Bakery" --admin-token opsecret)
assert_contains "$out" "its token is kept in bakery.db" "advertiser token kept in the profile"
aud=$("$tandem" --profile bakery.db --json ads audience create --name "Loyalty card holders" | jq -r .id)
{ echo "650-253-0141"; for i in $(seq 1000 1099); do echo "650 266 $i"; done; } >customers.txt
out=$("$tandem" --profile bakery.db ads audience upload "$aud" customers.txt --country US --wait 2>/dev/null)
assert_contains "$out" "sent: 101 hashed, invalid: 0" "upload summary"
members() { sqlite3 data/social.db "SELECT user_id || ':' || source FROM ads_memberships WHERE audience_id = $aud"; }
assert_eq "$(members)" "1:2" "matched through the messenger-shared number only"
"$tandem" --profile bakery.db ads campaign create --name spring --title "Fresh rye bread" --text "Baked every morning" \
  --link https://bakery.example/rye --include "$aud" --budget 100 --frequency-cap 10 >/dev/null

timeline=$("$tandem" --profile dana.db --json timeline show)
imp=$(jq -r 'select(.type == "ad") | .impression_id' <<<"$timeline" | head -1)
[[ -n "$imp" ]] || fail "no ad in Dana's timeline: $timeline"
why=$("$tandem" --profile dana.db timeline why "$imp")
assert_contains "$why" "the messenger you use with this number shares it with us" "why names the messenger"
# A profile that never signed in says how to.
rc=0; "$tandem" --profile bakery.db timeline show 2>err.out || rc=$?
assert_eq "$rc" "2" "not signed in"
assert_contains "$(cat err.out)" "bakery.db is not signed in to the social network" "not signed in, said so"

start=$(date +%s%N)
"$tandem" --profile dana.db privacy object ads >/dev/null
no_ad() { [[ "$("$tandem" --profile dana.db --json timeline show | jq -s '[.[] | select(.type == "ad")] | length')" == 0 ]]; }
no_member() { [[ -z "$(members)" ]]; }
wait_until 30 no_ad
ad_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_until 30 no_member
echo "tandem privacy object ads -> ad gone: ${ad_ms} ms, membership gone: $(( ($(date +%s%N) - start) / 1000000 )) ms (CLI start-up included)"
echo "PASS"
