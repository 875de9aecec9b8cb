#!/usr/bin/env bash
# A clean stop after real traffic, every time: tandemd in its embedded
# default is started on the same data directory again and again; in each
# round the messenger carries messages and receipts (the CLI's `send` and
# `inbox --read`), the social side consumes feed events (an objection and
# its withdrawal reach the ads purpose through the feed), and an advertiser
# uploads a customer list that is matched. Then SIGTERM: tandemd must exit
# 0 within a hang guard, every round, and nothing acknowledged is lost
# across the restarts (each round's messages arrive in the next round at
# the latest, exactly once).
#
# Usage: shutdown_test.sh TANDEMD TANDEM [ROUNDS]
source "$(dirname "$0")/messenger_lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 tandem=$2 rounds=${3:-20}
work=$(mktemp -d)
trap 'kill -9 ${TANDEMD_PID:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

args=(--set ads.admin_token=opsecret --set ads.min_audience_size=1 --set ads.size_margin=0
      --set ads.noise_scale=0 --set feed.poll_interval_ms=50)
A=+16502530161 B=+16502530162 C=+16502530163 D=+16502530164

# stop_tandemd ROUND: SIGTERM, then the exit status must be 0. A stop that
# takes longer than 20 s is a hang (the drain timeout is 5 s).
stop_tandemd() {
  local start rc=0
  start=$(date +%s%N)
  kill -TERM "$TANDEMD_PID"
  for _ in $(seq 1 400); do
    kill -0 "$TANDEMD_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$TANDEMD_PID" 2>/dev/null; then
    tail -20 tandemd.log >&2
    fail "round $1: tandemd did not stop within 20 s of SIGTERM"
  fi
  wait "$TANDEMD_PID" || rc=$?
  TANDEMD_PID=
  if [[ $rc != 0 ]]; then
    tail -20 tandemd.log >&2
    fail "round $1: tandemd exited with status $rc after SIGTERM (expected 0)"
  fi
  stop_ms+=("$(( ($(date +%s%N) - start) / 1000000 ))")
}


start_tandemd "$tandemd" "$work" "${args[@]}"
# Restarts keep the port, so the profiles' remembered address stays right.
export TANDEMD_LISTEN=$TANDEMD_ADDR
export TANDEM_SERVER=$TANDEMD_ADDR TANDEM_SOCIAL_SERVER=$TANDEMD_ADDR TANDEM_ADS_SERVER=$TANDEMD_ADDR

# Set up once: four messenger users, A also on the social network with the
# same number (linked through the feed), an advertiser. D reads only at the
# end, so C's sends, the last traffic of each round, are the writer's last
# batch when the stop comes (C has no receipts to acknowledge).
for who in a:$A b:$B c:$C d:$D; do
  t "${who%%:*}" register "${who#*:}" >/dev/null
  code=$(grep -- "${who#*:}" data/verification-codes.log | tail -1 | awk '{print $3}')
  t "${who%%:*}" verify "${who#*:}" "$code" >/dev/null
done
export TANDEM_PROFILE="$work/cli-profile.db"  # sign-ins; the tokens the test keeps are given by environment
"$tandem" social register --phone "$A" >/dev/null
code=$(awk -v p="$A" '$(NF-1) == p { c = $NF } END { print c }' data/social-verification-codes.log)
social_a=$("$tandem" social verify --phone "$A" --code "$code" --name Ann --print-token)
ads_facts() { TANDEM_SOCIAL_TOKEN=$social_a "$tandem" social facts --purpose ads; }
linked() { [[ "$(ads_facts)" == *messenger_link* ]]; }
unlinked() { ! linked; }
wait_until 30 linked
export TANDEM_ADS_TOKEN=$("$tandem" ads advertiser create --name "Shutdown Bakery" --admin-token opsecret --print-token)
{ echo "650-253-0161"; for i in $(seq 1000 1049); do echo "650 266 $i"; done; } >customers.txt
aud=$("$tandem" --json ads audience create --name "Regulars" | jq -r .id)

stop_ms=()
for round in $(seq 1 "$rounds"); do
  # What the previous round sent arrives now, with its receipts (delivery
  # and read) going back.
  t b inbox --read >/dev/null
  t a inbox --read >/dev/null
  # A feed cycle: the objection and its withdrawal travel through the feed.
  t a privacy object ads >/dev/null
  wait_until 30 unlinked
  t a privacy withdraw ads >/dev/null
  wait_until 30 linked
  # An ads upload, matched before the stop.
  out=$("$tandem" ads audience upload "$aud" customers.txt --country US --wait 2>/dev/null)
  assert_contains "$out" "sent: 51 hashed, invalid: 0" "round $round: upload summary"
  # Messages both ways, the last thing before the stop.
  t b send $A "round-$round-b2a" >/dev/null
  t a send $B "round-$round-a2b-1" >/dev/null
  t a send $B "round-$round-a2b-2" >/dev/null
  t c send $D "round-$round-c2d" >/dev/null
  stop_tandemd "$round"
  start_tandemd "$tandemd" "$work" "${args[@]}"
done

# A client that stops reading (SIGSTOP) holds its connection open: it never
# answers the close, the server's drain times out (5 s) and the connection
# goes without the message stream hearing of it. The stop must be clean.
"$tandem" --profile "$work/b.db" --json inbox --follow >b.follow 2>&1 &
follower=$!
wait_until 10 grep -q round-$rounds-a2b-2 b.follow
kill -STOP $follower
stop_tandemd stalled-client
kill -9 $follower 2>/dev/null || true
wait $follower 2>/dev/null || true
start_tandemd "$tandemd" "$work" "${args[@]}"

# Every message arrived exactly once, whatever round it came in, and A's
# were read (the read receipts came back): the clients' histories, which
# keep each message once by its server id.
t b --json inbox --read >/dev/null
t d --json inbox >/dev/null
t a --json inbox >/dev/null
# One line per message, "<- +1… [status] text", from the JSON history.
history_of() {
  t "$1" --json history --limit 100000 "$2" |
    jq -r '(if .direction == "in" then "<-" else "->" end) + " " + .peer + " [" + .status + "] " + .text'
}
history_of a $B >a.history
history_of b $A >b.history
history_of d $C >d.history
for round in $(seq 1 "$rounds"); do
  for m in "round-$round-a2b-1" "round-$round-a2b-2"; do
    assert_eq "$(grep -cx -- "<- $A \[.*\] $m" b.history || true)" 1 "$m delivered once"
    assert_eq "$(grep -cx -- "-> $B \[read\] $m" a.history || true)" 1 "$m read (read receipt)"
  done
  assert_eq "$(grep -cx -- "<- $B \[.*\] round-$round-b2a" a.history || true)" 1 "round-$round-b2a delivered once"
  assert_eq "$(grep -cx -- "<- $C \[.*\] round-$round-c2d" d.history || true)" 1 "round-$round-c2d delivered once"
done
stop_tandemd final
echo "shutdown: $rounds rounds, each stopped with exit 0 (stop took ${stop_ms[*]} ms)"
