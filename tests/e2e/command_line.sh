#!/usr/bin/env bash
# End-to-end, no broker: the `ledger` command line names what it does not know. A
# mistyped subcommand or option is named with the closest one and exit 64; an option of
# another command is said not to apply here; a right command line still parses.
# Usage: command_line.sh LEDGER_BINARY
set -euo pipefail
LEDGER=$1
WORK=$(mktemp -d /tmp/ledger-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # exit-code message-part command-line...
  local want_rc=$1 want=$2 rc
  shift 2
  set +e
  "$LEDGER" --data-dir "$WORK/none" "$@" >"$WORK/out" 2>&1; rc=$?
  set -e
  [[ $rc == "$want_rc" ]] || fail "ledger $*: exit $rc, not $want_rc: $(head -c 300 "$WORK/out")"
  grep -qF -- "$want" "$WORK/out" || fail "ledger $*: does not say '$want': $(head -c 300 "$WORK/out")"
  echo "ledger $*: $(head -n 1 "$WORK/out")"
}
expect 64 'ledger query: unknown command "entitlment"; did you mean "entitlement"?' query entitlment --account A
expect 64 'ledger: unknown command "qeury"; did you mean "query"?' qeury entitlement
expect 64 'ledger query events: unknown option --acount; did you mean --account?' query events --acount A
expect 64 'ledger query case: unknown option --within-days: it does not apply here (it is an option of ledger query list)' \
  query case --account A --case C --within-days 30
expect 64 'ledger: unknown command "frobnicate"' frobnicate
expect 64 'ledger dlq: unknown command "lsit"; did you mean "list"?' dlq lsit
# Values and positionals are not taken for commands or options.
expect 64 'ledger token create: unknown option --rol; did you mean --role?' token create somebody --rol analyst
expect 0 'analyst' token create somebody --role analyst --tokens "$WORK/tokens" --brokers 127.0.0.1:1
expect 0 'somebody' --brokers=127.0.0.1:1 token list --tokens "$WORK/tokens"
expect 0 'Usage' query list --help

# Completion and the manual page, from the same definitions.
complete_line() {  # a command line (a trailing space: a new word): what bash completion offers
  bash -c 'source <("$1" completion bash); read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("")
           COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ledger; echo "${COMPREPLY[*]}"' _ "$LEDGER" "$1"
}
[[ $(complete_line "ledger query ent") == entitlement ]] || fail "completion of 'query ent': $(complete_line "ledger query ent")"
[[ $(complete_line "ledger query entitlement --acc") == --account ]] || fail "completion of an option"
[[ $(complete_line "ledger --brokers 127.0.0.1:9092 dlq replay --dr") == --dry-run ]] ||
  fail "completion after a global option's value"
[[ " $(complete_line "ledger ") " == *" query "*" --brokers "* ]] || fail "completion of the commands"
echo "completion: 'ledger query ent' -> $(complete_line "ledger query ent")"
"$LEDGER" man >"$WORK/ledger.1"
groff -man -Tutf8 -rLL=100n -P-cbou "$WORK/ledger.1" 2>"$WORK/groff.err" | tr -s ' \n' '  ' >"$WORK/man.txt"
[[ ! -s $WORK/groff.err ]] || fail "groff finds the manual page wrong: $(head -3 "$WORK/groff.err")"
for want in "ledger query entitlement" "--account" "ledger dlq replay" "--dry-run" "77 Kafka refused"; do
  grep -qF -- "$want" "$WORK/man.txt" || fail "the manual page lacks '$want'"
done
echo "man page: $(wc -w <"$WORK/man.txt") words, every command and option"
echo "PASS: the command line names what it does not know"
