# Sourced by the fault tests. expect_clean_run_digest STORE WORKDIR LABEL projects the
# whole log into a fresh store (its own consumer group) and fails the test unless STORE
# has the same digest. Needs LEDGER and BROKERS.
expect_clean_run_digest() {
  local store=$1 work=$2 label=$3 group="clean-$RANDOM$RANDOM"
  "$LEDGER" --brokers "$BROKERS" --data-dir "$work/clean" project --group "$group" \
    --metrics-listen "" --until-caught-up >"$work/clean.log" 2>&1 ||
    { tail -20 "$work/clean.log"; echo "FAIL: the clean run failed"; exit 1; }
  local faulty clean
  faulty=$("$LEDGER" --data-dir "$store" digest)
  clean=$("$LEDGER" --data-dir "$work/clean" digest)
  echo "$label: $faulty"
  echo "clean run: $clean"
  [[ $faulty == "$clean" ]] || { echo "FAIL: the digests differ"; exit 1; }
}
