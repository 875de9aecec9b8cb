#!/usr/bin/env bash
# Exactly-once feed application across crashes: tandemd (the social side's
# consumer) is killed with SIGKILL in the middle of the feed, and so is the
# feed peer (the messenger side's endpoint); after restarts the social
# database's feed-derived state equals that of a run without crashes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/social_lib.sh"
tandemd=$1 peer=$2
work=$(mktemp -d)
mkdir -p "$work/crash" "$work/clean"
trap 'kill -9 ${PEER_PID:-} ${TANDEMD_PID:-} ${CLEAN_PID:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

EVENTS=30000
peer_args=(--token s3cret --events $EVENTS --accounts 3000 --seed 11 --page-delay-ms 15)
start_peer "$peer" "$work" peer "${peer_args[@]}"
FEED=$PEER_ADDR
consumer_args=(--set feed.url="$FEED" --set feed.token=s3cret --set feed.batch=100
               --set feed.poll_interval_ms=20 --set feed.error_backoff_ms=50)

cursor_of() { metric "$1" tandem_social_feed_cursor; }
cursor_at_least() { local c; c=$(cursor_of "$TANDEMD_ADDR"); [[ -n "$c" ]] && (( c >= $1 )); }

# The crashing run: kill -9 twice mid-feed, and kill -9 the feed peer once.
start_tandemd "$tandemd" "$work/crash" "${consumer_args[@]}"
wait_until 120 cursor_at_least 3000
kill -9 "$TANDEMD_PID"; wait "$TANDEMD_PID" 2>/dev/null || true
first=$("$peer" dump --db "$work/crash/data/social.db" | sed -n 1p)
echo "first crash at: $first"
start_tandemd "$tandemd" "$work/crash" "${consumer_args[@]}"
wait_until 120 cursor_at_least 12000
kill -9 "$PEER_PID"; wait "$PEER_PID" 2>/dev/null || true
sleep 0.3
start_peer "$peer" "$work" peer --listen "$FEED" "${peer_args[@]}"
wait_until 120 cursor_at_least 18000
kill -9 "$TANDEMD_PID"; wait "$TANDEMD_PID" 2>/dev/null || true
second=$("$peer" dump --db "$work/crash/data/social.db" | sed -n 1p)
echo "second crash at: $second"
start_tandemd "$tandemd" "$work/crash" "${consumer_args[@]}"
wait_until 240 cursor_at_least $EVENTS
CRASH_ADDR=$TANDEMD_ADDR
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"

# The reference run, without crashes.
start_tandemd "$tandemd" "$work/clean" "${consumer_args[@]}"
wait_until 240 cursor_at_least $EVENTS
kill -TERM "$TANDEMD_PID"; wait "$TANDEMD_PID"

"$peer" dump --db "$work/crash/data/social.db" >"$work/crash.dump"
"$peer" dump --db "$work/clean/data/social.db" >"$work/clean.dump"
assert_eq "$(head -1 "$work/crash.dump")" "cursor $EVENTS" "crashed run caught up"
cmp -s "$work/crash.dump" "$work/clean.dump" || { diff "$work/crash.dump" "$work/clean.dump" | head -20; fail "state differs after crashes"; }
[[ "$first" != "cursor $EVENTS" ]] || echo "note: the first kill came after the feed was drained"
echo "feed crash: ok ($(wc -l <"$work/crash.dump") lines of feed state identical)"
