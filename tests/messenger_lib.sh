# Messenger helpers for end-to-end scripts, on top of lib.sh. The script
# sets $tandem (the CLI binary) and $work (its scratch directory; tandemd's
# data in $work/data) before calling them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# t PROFILE ARGS...: the CLI on the profile $work/PROFILE.db.
t() { local p=$1; shift; "$tandem" --profile "$work/$p.db" "$@"; }
# code_for NUMBER: the last code the relay's dev sender wrote for NUMBER.
code_for() { grep -- "$1" "$work/data/verification-codes.log" | tail -1 | awk '{print $3}'; }
# register PROFILE NUMBER: registers NUMBER on PROFILE with that code.
register() {
  t "$1" register "$2" >/dev/null
  t "$1" verify "$2" "$(code_for "$2")" >/dev/null
}
# count PATTERN FILE: lines of FILE with PATTERN (0 when none).
count() { grep -c -- "$1" "$2" || true; }
