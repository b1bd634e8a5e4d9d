# Sourced by the tests that compare runs on different brokers. expect_accounts_alike
# EVENTS STORE_A STORE_B LABEL fails the test unless every account of the events file
# EVENTS has, in both stores, the same stored events and outcomes (`query events`).
# Offsets and the brokers' record times differ between brokers and are left out; so are
# answers that reference data shapes (another broker's ledger.reference holds other
# tests' records). Needs LEDGER and WORK.
expect_accounts_alike() {
  local events=$1 a=$2 b=$3 label=$4 account compared=0
  for account in $(grep -o '"account_id":"[^"]*"' "$events" | sort -u | cut -d'"' -f4); do
    for store in "$a" "$b"; do
      "$LEDGER" --data-dir "$store" query events --account "$account" |
        sed 's/"offset":[0-9]*,//; s/"recorded_at":"[^"]*"//g' >"$store.answer" 2>&1
    done
    cmp -s "$a.answer" "$b.answer" ||
      { echo "FAIL: $account differs ($label): $(diff "$a.answer" "$b.answer" | head -5)"; exit 1; }
    compared=$((compared + 1))
  done
  ((compared > 50)) || { echo "FAIL: only $compared accounts compared ($label)"; exit 1; }
  echo "$compared accounts: the same stored events and outcomes ($label)"
}
