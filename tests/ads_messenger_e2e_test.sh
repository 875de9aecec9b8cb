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
export TANDEM_SERVER=$TANDEMD_ADDR TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR TANDEM_ADS_SERVER=$TANDEMD_ADDR
DANA=+16502530141

"$tandem" --profile dana.db register $DANA >/dev/null
code=$(grep -- "$DANA" data/verification-codes.log | tail -1 | awk '{print $3}')
"$tandem" --profile dana.db verify $DANA "$code" >/dev/null
"$tandem" social register --phone "$DANA" >/dev/null
code=$(awk -v p="$DANA" '$(NF-1) == p { c = $NF } END { print c }' data/social-verification-codes.log)
dana=$("$tandem" social verify --phone "$DANA" --code "$code" --name Dana | jq -r .token)
linked() { [[ "$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" social facts --purpose ads)" == *messenger_link* ]]; }
wait_until 30 linked

export TANDEM_ADS_TOKEN=$("$tandem" ads advertiser create --name "Corner Bakery" --admin-token opsecret | jq -r .token)
aud=$("$tandem" ads audience create --name "Loyalty card holders" | jq -r .id)
{ echo "650-253-0141"; for i in $(seq 1000 1099); do echo "650 266 $i"; done; } >customers.txt
out=$("$tandem" ads audience upload "$aud" customers.txt --country US --wait 2>/dev/null)
assert_contains "$out" "sent: 101 hashed, invalid: 0" "upload summary"
members() { sqlite3 data/social.db "SELECT user_id || ':' || source FROM ads_memberships WHERE audience_id = $aud"; }
assert_eq "$(members)" "1:2" "matched through the messenger-shared number only"
"$tandem" ads campaign create --name spring --title "Fresh rye bread" --text "Baked every morning" \
  --link https://bakery.example/rye --include "$aud" --budget 100 --frequency-cap 10 >/dev/null

feed=$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" feed show)
imp=$(jq -r '.items[] | select(.type == "ad") | .impression_id' <<<"$feed" | head -1)
[[ -n "$imp" ]] || fail "no ad in Dana's feed: $feed"
why=$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" feed why "$imp")
assert_contains "$why" "the messenger you use with this number shares it with us" "why names the messenger"

start=$(date +%s%N)
"$tandem" --profile dana.db privacy object ads >/dev/null
no_ad() { [[ "$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" feed show | jq '[.items[] | select(.type == "ad")] | length')" == 0 ]]; }
no_member() { [[ -z "$(members)" ]]; }
wait_until 30 no_ad
ad_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_until 30 no_member
echo "tandem privacy object ads -> ad gone: ${ad_ms} ms, membership gone: $(( ($(date +%s%N) - start) / 1000000 )) ms (CLI start-up included)"
echo "PASS"
