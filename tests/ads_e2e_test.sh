#!/usr/bin/env bash
# The ads platform end to end through the real binaries: an operator creates
# an advertiser; the advertiser uploads a customer list (hashed by the CLI)
# that matches a person only through the number the messenger shares; the
# person sees the ad in the social timeline and its explanation; after the
# person objects to ads, the ad is no longer served and the membership is
# gone (time measured and printed). Bad uploads store nothing, and none of
# the list's unmatched hashes appear in the database files, the log or the
# temporary directory. Creatives with control characters or bad links are
# refused (400 naming the field), through the HTTP API and the CLI alike.
#
# social_feed_peer plays the messenger's feed endpoint (the objection
# arrives as the objection_changed event the messenger's privacy API emits).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2 peer=$3
work=$(mktemp -d)
mkdir -p "$work/tmp"
pids=()
trap 'for p in "${pids[@]}" ${TANDEMD_PID:-}; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

start_peer "$peer" "$work" peer --token feedsecret --events 0 --control
pids+=("$PEER_PID")
FEED=$PEER_ADDR
# Small thresholds so that three people make a targetable audience; the
# defaults (100 people, noise, margin) are covered by the unit tests.
TMPDIR="$work/tmp" start_tandemd "$tandemd" "$work" --set feed.url="$FEED" --set feed.token=feedsecret \
  --set feed.poll_interval_ms=50 --set ads.admin_token=opsecret --set ads.min_audience_size=1 \
  --set ads.size_margin=0 --set ads.noise_scale=0 --set log.level=debug
export TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR TANDEM_ADS_SERVER=$TANDEMD_ADDR
export TANDEM_PROFILE="$work/cli-profile.db"  # sign-ins; the tokens kept here are given by environment
db="$work/data/social.db"
codes="$work/data/social-verification-codes.log"
feed() { curl -sf -X POST "http://$FEED/test/events" -d "$1" >/dev/null || fail "feed append"; }
register() {
  "$tandem" social register --phone "$2" >/dev/null
  local code
  code=$(awk -v p="$2" '$(NF-1) == p { c = $NF } END { print c }' "$codes")
  "$tandem" social verify --phone "$2" --code "$code" --name "$1" --print-token
}

# Dana uses the messenger with +16502530041 but did not make the number
# findable on the social network: only the messenger link can match her.
dana=$(register Dana +16502530041)
erin=$(register Erin +16502530042)
feed '{"type":"account_linked","account_id":"m-dana","at":1700000000,"phone":"+16502530041"}'
feed '{"type":"usage_summary","account_id":"m-dana","at":1700000001,"day":"2026-11-28","active_days_28":21,"last_active_day":"2026-11-28"}'
linked() { [[ "$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" social facts --purpose ads)" == *messenger_link* ]]; }
wait_until 30 linked

# The operator creates an advertiser; a wrong operator token is refused.
rc=0; "$tandem" ads advertiser create --name "Bakery" --admin-token nope 2>"$work/err" || rc=$?
assert_eq "$rc" "1" "wrong admin token"
assert_contains "$(cat "$work/err")" "wrong operator token" "admin token message"
export TANDEM_ADS_TOKEN=$("$tandem" ads advertiser create --name "Corner Bakery" --admin-token opsecret --print-token)
[[ ${#TANDEM_ADS_TOKEN} == 64 ]] || fail "advertiser token looks wrong"
aud=$("$tandem" --json ads audience create --name "Loyalty card holders" | jq -r .id)

# A customer list: Dana in national format, 400 strangers, two bad rows.
{
  echo "name,phone,notes"
  echo "Dana,(650) 253-0041,likes rye"
  for i in $(seq 1000 1399); do echo "Stranger $i,+1 650 266 $i,"; done
  echo "Typo,12,"
  echo 'Broken,"unterminated,'
} >"$work/customers.csv"
out=$("$tandem" ads audience upload "$aud" "$work/customers.csv" --header --column phone --country US \
      --batch 150 --wait 2>"$work/upload.err")
assert_contains "$out" "rows: 403, sent: 401 hashed, invalid: 2" "upload summary"
assert_contains "$out" "audience $aud: ready" "matched"
assert_contains "$(cat "$work/upload.err")" "line 403: " "invalid row reported with its line"
assert_contains "$(cat "$work/upload.err")" "line 404: malformed CSV" "malformed row reported"
out=$("$tandem" ads audience show "$aud")
assert_contains "$out" "size: 1 to 2 people" "size range"
assert_contains "$out" "applied, 401 rows" "session applied"
members() { sqlite3 "$db" "SELECT user_id || ':' || source FROM ads_memberships WHERE audience_id = $aud"; }
assert_eq "$(members)" "1:2" "Dana matched through the messenger link (source 2)"

# Bad input stores nothing.
sessions_before=$(sqlite3 "$db" "SELECT COUNT(*) FROM ads_sessions; SELECT COUNT(*) FROM ads_session_batches")
post() { curl -s -o "$work/resp" -w '%{http_code}' -X POST "http://$TANDEMD_ADDR$1" -H "Authorization: Bearer $2" \
         -H 'Content-Type: application/json' --data-binary @"$3"; }
hash=$(printf '%s' 16502530041 | sha256sum | cut -d' ' -f1)
jq -n --arg h "$hash" '{session:{session_id:"big",batch_seq:1,last_batch_flag:true},
  payload:{schema:"PHONE_SHA256",data:[range(10001)|$h]}}' >"$work/big.json"
assert_eq "$(post /v1/ads/audiences/$aud/users "$TANDEM_ADS_TOKEN" "$work/big.json")" "400" "10,001 rows"
assert_contains "$(cat "$work/resp")" "at most 10,000 rows" "10,001 rows message"
jq -n --arg h "$hash" '{session:{session_id:"bad",batch_seq:1,last_batch_flag:true},
  payload:{schema:"PHONE_SHA256",data:[$h,"not-a-hash",($h|ascii_upcase)]}}' >"$work/bad.json"
assert_eq "$(post /v1/ads/audiences/$aud/users "$TANDEM_ADS_TOKEN" "$work/bad.json")" "400" "malformed hashes"
assert_eq "$(jq -c '[.error.invalid_entries[].index]' "$work/resp")" "[1,2]" "malformed rows by index"
jq -n --arg h "$hash" '{session:{session_id:"schema",batch_seq:1},payload:{schema:"MADID",data:[$h]}}' >"$work/schema.json"
assert_eq "$(post /v1/ads/audiences/$aud/users "$TANDEM_ADS_TOKEN" "$work/schema.json")" "400" "unknown schema"
assert_contains "$(cat "$work/resp")" "unknown schema 'MADID'" "unknown schema message"
jq -n --arg h "$hash" '{session:{session_id:"tok",batch_seq:1},payload:{schema:"PHONE_SHA256",data:[$h]}}' >"$work/ok.json"
assert_eq "$(post /v1/ads/audiences/$aud/users wrong-token "$work/ok.json")" "401" "wrong token"
assert_eq "$(post /v1/ads/audiences/$aud/users "$dana" "$work/ok.json")" "401" "a social token is not an advertiser token"
campaigns_before=$(sqlite3 "$db" "SELECT COUNT(*) FROM ads_campaigns")
jq -n --argjson aud "$aud" '{name:"bad",creative:{title:"Fresh rye",text:"Baked daily",
  link:"https://bakery.example/rye\r\nSet-Cookie: a=b"},targeting:{include_audiences:[$aud]},
  impression_budget:10,frequency_cap_per_day:1}' >"$work/badlink.json"
assert_eq "$(post /v1/ads/campaigns "$TANDEM_ADS_TOKEN" "$work/badlink.json")" "400" "a link with CR/LF"
assert_contains "$(jq -r .error.message "$work/resp")" "'link' contains a control character (U+000D)" "bad link message"
jq '.creative.link = "https://bakery.example/rye" | .creative.title = "Fresh\u001b[2J rye"' "$work/badlink.json" \
  >"$work/badtitle.json"
assert_eq "$(post /v1/ads/campaigns "$TANDEM_ADS_TOKEN" "$work/badtitle.json")" "400" "a title with an escape"
assert_contains "$(jq -r .error.message "$work/resp")" "'title' contains a control character (U+001B)" "bad title message"
rc=0; "$tandem" ads campaign create --name bad --title "Fresh rye" --text "Baked daily" \
  --link 'https://bakery.example/"><script>' --include "$aud" --budget 10 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "the CLI gets the same refusal (invalid_argument)"
assert_contains "$(cat "$work/err")" "'link' contains the character \"" "CLI bad link message"
assert_eq "$(sqlite3 "$db" "SELECT COUNT(*) FROM ads_campaigns")" "$campaigns_before" "no campaign stored"
assert_eq "$(sqlite3 "$db" "SELECT COUNT(*) FROM ads_sessions; SELECT COUNT(*) FROM ads_session_batches")" \
  "$sessions_before" "nothing stored by bad input"
assert_eq "$(members)" "1:2" "memberships unchanged by bad input"

# A campaign; Dana sees the ad in her timeline, and why.
camp=$("$tandem" ads campaign create --name spring --title "Fresh rye bread" --text "Baked every morning" \
       --link https://bakery.example/rye --include "$aud" --budget 100 --frequency-cap 10 --json | jq -r .id)
TANDEM_SOCIAL_TOKEN=$dana "$tandem" timeline post "Good morning" >/dev/null
out=$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" --json timeline show)
assert_contains "$out" '"text":"Good morning"' "own post in the timeline"
assert_contains "$out" '"title":"Fresh rye bread"' "the ad in the timeline"
imp=$(jq -r 'select(.type == "ad") | .impression_id' <<<"$out" | head -1)
out=$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" timeline show)
# (each showing is a new impression, with its own number)
assert_contains "$out" "] Fresh rye bread - Baked every morning (https://bakery.example/rye), from Corner Bakery; why: \`tandem timeline why " "the ad for people"
assert_contains "$out" "Dana: Good morning" "the post for people"
why=$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" timeline why "$imp")
assert_contains "$why" "Corner Bakery uploaded a list of its customers' phone numbers (\"Loyalty card holders\")" "why: audience"
assert_contains "$why" "+16502530041" "why: the number"
assert_contains "$why" "the messenger you use with this number shares it with us" "why: data source"
rc=0; TANDEM_SOCIAL_TOKEN=$erin "$tandem" timeline why "$imp" 2>/dev/null || rc=$?
assert_eq "$rc" "1" "someone else's explanation is not shown"
assert_eq "$(TANDEM_SOCIAL_TOKEN=$erin "$tandem" --json timeline show | jq -s '[.[] | select(.type == "ad")] | length')" "0" \
  "Erin is not in the audience"
assert_eq "$("$tandem" --json ads campaign show "$camp" | jq .impressions)" "2" "impressions recorded (two showings)"

# Dana objects to ads on the messenger: the event reaches the social side
# through the feed; the ad stops and the membership is removed.
start=$(date +%s%N)
feed '{"type":"objection_changed","account_id":"m-dana","at":1700000100,"purpose":"ads","objected":true}'
no_ad() { [[ "$(TANDEM_SOCIAL_TOKEN=$dana "$tandem" --json timeline show | jq -s '[.[] | select(.type == "ad")] | length')" == 0 ]]; }
no_member() { [[ -z "$(members)" ]]; }
wait_until 30 no_ad
ad_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_until 30 no_member
member_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "objection -> ad gone: ${ad_ms} ms, membership gone: ${member_ms} ms (feed poll interval 50 ms, CLI start-up included)"
# The size shown for the audience's version was fixed when the version was
# made: looking again reveals nothing about the objection. The next version
# (another upload, one more look) counts what is left.
assert_contains "$("$tandem" ads audience show "$aud")" "size: 1 to 2 people" "same version, same size"
printf '%s\n' "+16502530041" >"$work/again.csv"
"$tandem" ads audience upload "$aud" "$work/again.csv" --wait >/dev/null 2>&1 || fail "second upload"
assert_contains "$("$tandem" ads audience show "$aud")" "too small to target" "the next version is empty"

# None of the unmatched hashes (nor the raw numbers) is anywhere on disk.
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID" 2>/dev/null || true; TANDEMD_PID=
found=0
for i in $(seq 1000 1399); do
  h=$(printf '%s' "1650266$i" | sha256sum | cut -d' ' -f1)
  if grep -rqaF -e "$h" -e "1650266$i" "$work/data" "$work/tandemd.log" "$work/tmp"; then found=$((found + 1)); fi
done
assert_eq "$found" "0" "unmatched hashes or numbers found on disk"
grep -qaF "16502530041" "$db" || fail "scan control: Dana's own number should be in social.db"
echo "PASS"
