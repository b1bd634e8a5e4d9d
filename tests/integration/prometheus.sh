#!/usr/bin/env bash
# Integration: a real Prometheus server (Debian's package) scrapes a real projector; PromQL
# over the scraped data counts exactly the events the store says it projected. Also: the
# alert rules load and pass their unit tests (promtool), and every metric the Grafana
# dashboard and the alert rules use is one the ledger exports.
# Usage: prometheus.sh LEDGER_BINARY SYNTH_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
MON=$ROOT/ops/monitoring
WORK=$(mktemp -d /tmp/ledger-prometheus-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
mapfile -t PORTS < <(free_ports 3)
METRICS=127.0.0.1:${PORTS[0]} PROM=127.0.0.1:${PORTS[1]} API=127.0.0.1:${PORTS[2]}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

echo "--- promtool: the rules and their unit tests"
promtool check rules "$MON/alerts.yml"
(cd "$MON" && promtool test rules alerts_test.yml)

echo "--- a projector and a Prometheus server scraping it every second"
RUN=$RANDOM$RANDOM
"$SYNTH" 3000 100 "$RUN" "PROM$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" >/dev/null
"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/store" project --group "prom-$RUN" \
  --metrics-listen "$METRICS" --http-listen "$API" >"$WORK/projector.log" 2>&1 &
pids+=($!)
cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$MON/alerts.yml"]
scrape_configs:
  - job_name: ledger
    static_configs: [{targets: ["$METRICS"]}]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="$PROM" >"$WORK/prometheus.log" 2>&1 &
pids+=($!)

query() {  # PromQL -> the first sample's value, or empty
  curl -s --get "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/store" status --wait 60 >/dev/null || fail "the projector did not catch up"
# The events this (fresh) store consumed: from where each partition's log starts (another
# test may have deleted records) to the store's offset.
projected=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/store" status | awk '/^[0-9]/ {s += $4 - $2} END {print s}')
echo "the store projected $projected events"
got=""
for _ in $(seq 60); do
  got=$(query 'sum(ledger_projector_events_total{job="ledger"})')
  [[ $got == "$projected" ]] && break
  sleep 1
done
echo "PromQL sum(ledger_projector_events_total) = $got"
[[ $got == "$projected" ]] || { tail "$WORK/prometheus.log"; fail "Prometheus counted $got events, the store $projected"; }
[[ $(query 'up{job="ledger"}') == 1 ]] || fail "the target is not up"
# The projector sets the counters, then each partition's gauges: a scrape can fall
# between the two (seen once in a full ctest run), so the lag too is waited for, a few scrapes.
lag=""
for _ in $(seq 10); do
  lag=$(query 'sum(ledger_projector_lag_events{job="ledger"})')
  [[ $lag == 0 ]] && break
  sleep 1
done
[[ $lag == 0 ]] || { grep '^ledger_projector_\(lag_events\|next_offset\)' <(curl -s "http://$METRICS/metrics");
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/store" status; fail "lag is $lag, not 0, after catching up"; }
rules=$(curl -s "http://$PROM/api/v1/rules" | grep -o '"name":"Ledger[A-Za-z]*"' | sort -u | wc -l)
want=$(grep -cE '^\s*- alert: Ledger' "$MON/alerts.yml")
[[ $rules -eq $want ]] || fail "Prometheus loaded $rules of the $want alert rules"

echo "--- every metric the dashboard and the alerts use is exported"
curl -sf "http://$API/healthz" >/dev/null || fail "the HTTP API is not up"  # request metrics exist from the first request
curl -s "http://$METRICS/metrics" >"$WORK/metrics.txt"
missing=0
for name in $(grep -ohE '\b(ledger|process)_[a-z_]+' "$MON/grafana-dashboard.json" "$MON/alerts.yml" | sort -u); do
  base=${name%_bucket}; base=${base%_count}; base=${base%_sum}
  grep -qE "^# TYPE $base " "$WORK/metrics.txt" || { echo "not exported: $name"; missing=1; }
done
[[ $missing -eq 0 ]] || fail "the dashboard or the alerts use metrics the ledger does not export"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$MON/grafana-dashboard.json" 2>/dev/null ||
  grep -q '"panels"' "$MON/grafana-dashboard.json" || fail "the dashboard is not JSON"
echo "PASS: Prometheus counted $got events, as the store did"
