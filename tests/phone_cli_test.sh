#!/usr/bin/env bash
# `tandem phone normalize|hash` through the real binary.
source "$(dirname "$0")/lib.sh"
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$(printf '+1 415 555 0123\n(415) 555-0124\nnot a number\n\n0049 170 1234567\n' |
      "$bin" phone normalize --region US 2>"$work/err")
assert_eq "$out" $'input,e164,error\n+1 415 555 0123,+14155550123,\n(415) 555-0124,+14155550124,\nnot a number,,not_a_number\n0049 170 1234567,+491701234567,' "normalize output"
assert_contains "$(cat "$work/err")" "line 3: not a phone number" "per-row error"
assert_contains "$(cat "$work/err")" "rows: 4, valid: 3, invalid: 1" "summary"

# CSV with a named column; hashes only in the output, never raw numbers.
printf 'name,phone\n"Doe, Jane",+1 415 555 0123\nBob,030 12\n' > "$work/in.csv"
"$bin" phone hash --column phone --region DE --input "$work/in.csv" --output "$work/out.csv" 2>"$work/err"
assert_eq "$(cat "$work/out.csv")" $'sha256\n413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a' "hash output"
assert_contains "$(cat "$work/err")" "line 3:" "invalid row reported"
assert_contains "$(cat "$work/err")" "invalid: 1" "invalid count"
if grep -q "415" "$work/out.csv"; then fail "raw number leaked into hash output"; fi

# Pre-normalized input skips parsing.
out=$(printf '+14155550123\n14155550123\n' | "$bin" phone hash --normalized 2>"$work/err")
assert_eq "$out" $'sha256\n413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a' "normalized hash"
assert_contains "$(cat "$work/err")" "invalid: 1" "non-E.164 row rejected"

# Usage errors exit 2 with a message.
rc=0; "$bin" phone normalize --region XX </dev/null 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "unknown region exit code"
assert_contains "$(cat "$work/err")" "unknown region" "unknown region message"
rc=0; printf 'a,b\n' | "$bin" phone normalize --column nope --header 2>"$work/err" || rc=$?
assert_eq "$rc" "2" "missing column exit code"
echo "phone cli: ok"
