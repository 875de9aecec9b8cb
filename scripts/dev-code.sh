#!/usr/bin/env bash
# Prints the newest verification code that the embedded default's
# development code sender wrote for a number (it writes codes to a file in
# the data directory instead of sending SMS). For trying tandem on one
# machine; a real deployment sends codes through an SMS gateway.
# Usage: scripts/dev-code.sh [--social] [--data-dir DIR] NUMBER   (NUMBER in E.164, e.g. +14155550101)
set -euo pipefail
file=verification-codes.log data_dir=data
while [[ $# -gt 1 ]]; do
  case $1 in
    --social) file=social-verification-codes.log; shift ;;
    --data-dir) data_dir=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || { echo "usage: scripts/dev-code.sh [--social] [--data-dir DIR] NUMBER" >&2; exit 2; }
log="$data_dir/$file"
[[ -r "$log" ]] || { echo "dev-code: no $log (is tandemd running with --data-dir $data_dir?)" >&2; exit 1; }
# Lines are "<time> <number> <code>"; the code is the last field.
code=$(awk -v n="$1" '$(NF-1) == n { c = $NF } END { print c }' "$log")
[[ -n "$code" ]] || { echo "dev-code: no code for $1 in $log (request one first)" >&2; exit 1; }
echo "$code"
