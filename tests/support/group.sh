# Sourced by the projector group's tests (three-node cluster from the CTest fixture).
# Needs LEDGER, BROKERS, WORK (a scratch dir), GROUP (the group's name), TOKEN (an
# analyst token in $WORK/tokens).
declare -A PID URL

# start_instance NAME PORT STANDBYS: `ledger project` as instance NAME of the group, its
# store in $WORK/NAME, its API on PORT, log appended to $WORK/NAME.log. Static
# membership with a short session timeout: a lost instance's partitions move after 6 s.
start_instance() {
  local name=$1 port=$2 standbys=$3
  [[ -f $WORK/kafka.properties ]] || echo "session.timeout.ms=6000" >"$WORK/kafka.properties"
  [[ -f $WORK/group-secret ]] || (umask 077 && openssl rand -hex 32 >"$WORK/group-secret")
  URL[$name]=http://127.0.0.1:$port
  "$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/kafka.properties" --data-dir "$WORK/$name" project \
    --group "$GROUP" --group-secret "$WORK/group-secret" --instance-id "$GROUP-$name" --standbys "$standbys" --metrics-listen "" \
    --http-listen "127.0.0.1:$port" --tokens "$WORK/tokens" >>"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
}

# stop_instance NAME: SIGTERM, and wait until it has left the group.
stop_instance() {
  kill -TERM "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
}

# ask NAME ACCOUNT [QUERY]: the entitlement question about ACCOUNT asked of instance
# NAME, printed as "STATUS INSTANCE BODY" (INSTANCE: who served it).
ask() {
  local h=$WORK/.h.$BASHPID b=$WORK/.b.$BASHPID code
  code=$(curl -s -m 5 -D "$h" -o "$b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "${URL[$1]}/v1/entitlement?account=$2&product=backup-exec&at=2026-01-01T00:00:00Z${3:+&$3}" || true)
  printf '%s %s ' "${code:-000}" "$(tr -d '\r' <"$h" 2>/dev/null | sed -n 's/^X-Ledger-Instance: //Ip')"
  cat "$b" 2>/dev/null || true
  rm -f "$h" "$b"
}

# clean_replay: the whole log projected alone into $WORK/clean (the answers to compare with).
clean_replay() {
  rm -rf "$WORK/clean"
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/clean" project --group "clean-$GROUP-$RANDOM" \
    --metrics-listen "" --http-listen "" --until-caught-up >"$WORK/clean.log" 2>&1
}

# want ACCOUNT: the clean replay's answer.
want() {
  "$LEDGER" --data-dir "$WORK/clean" query entitlement --account "$1" --product backup-exec \
    --at 2026-01-01T00:00:00Z --format json
}

# choose_asked EVENTS N: adds to ASKED (an array) N accounts of the events file EVENTS,
# each with the clean replay's answer in $WORK/want/ACCOUNT (all_right, start_asker).
choose_asked() {
  local account chosen
  mapfile -t chosen < <(grep -o '"account_id":"[^"]*"' "$1" | sort -u | shuf -n "$2" --random-source=<(yes) | cut -d'"' -f4)
  mkdir -p "$WORK/want"
  for account in "${chosen[@]}"; do want "$account" >"$WORK/want/$account"; done
  ASKED+=("${chosen[@]}")
}

# expect_partitions_like_clean NAME...: with the instances stopped and the clean replay
# made after the last event, every partition of ledger.events is held up to its log's end
# by one of the instances' stores at least, and each such store's state of it equals the
# clean replay's (nothing lost, nothing applied twice).
expect_partitions_like_clean() {
  local p name high held digest clean
  local partitions
  partitions=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/clean" status | awk '$1 ~ /^[0-9]+$/ {print $1}')
  for p in $partitions; do
    high=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/clean" status | awk -v p="$p" '$1 == p {print $3}')
    clean=$("$LEDGER" --data-dir "$WORK/clean" digest --partition "$p")
    held=""
    for name in "$@"; do
      [[ $("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/$name" status | awk -v p="$p" '$1 == p {print $4}') == "$high" ]] ||
        continue
      digest=$("$LEDGER" --data-dir "$WORK/$name" digest --partition "$p")
      [[ $digest == "$clean" ]] ||
        { echo "FAIL: partition $p in $name's store differs from the clean replay: $digest against $clean"; exit 1; }
      held+=" $name"
    done
    [[ -n $held ]] || { echo "FAIL: no instance's store holds partition $p up to its end ($high)"; exit 1; }
    echo "partition $p (to offset $high): equal to the clean replay in$held"
  done
}

# all_right NAME...: each instance answers every account of ASKED (an array) as the clean
# replay did ($WORK/want/ACCOUNT).
all_right() {
  local name account got
  for name in "$@"; do
    for account in "${ASKED[@]}"; do
      got=$(ask "$name" "$account")
      [[ ${got%% *} == 200 && ${got#* * } == "$(cat "$WORK/want/$account")" ]] || return 1
    done
  done
}

# owned_by NAME: the partitions NAME owns and has caught up with now, from its /v1/status.
owned_by() {
  curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}/v1/status" |
    python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["group"]["self"]["owned"])))' 2>/dev/null || true
}

# group_settled NAME...: each of them owns a partition and has caught up with it (the group's
# rebalances are over: until then partitions move, and their questions are 503).
group_settled() {
  local name
  for name in "$@"; do [[ -n $(owned_by "$name") ]] || return 1; done
}

# start_asker: in the background, the accounts of ASKED asked in turn of the live
# instances ($WORK/live: a "NAME URL" line each, read before every question), about 10
# times a second; each answer is a line of $WORK/answers: "right", "WRONG from NAME
# about ACCOUNT: ..." or "STATUS from NAME". Sets ASKER (its pid).
start_asker() {
  (
    local n=0 live entry account got
    while :; do
      mapfile -t live <"$WORK/live"
      entry=${live[$((n % ${#live[@]}))]}
      URL[${entry%% *}]=${entry#* }
      account=${ASKED[$((n % ${#ASKED[@]}))]}
      got=$(ask "${entry%% *}" "$account")
      if [[ ${got%% *} != 200 ]]; then
        echo "${got%% *} from ${entry%% *}"
      elif [[ ${got#* * } == "$(cat "$WORK/want/$account")" ]]; then
        echo "right"
      else
        echo "WRONG from ${entry%% *} about $account: $got"
      fi
      n=$((n + 1))
      sleep 0.05
    done
  ) >"$WORK/answers" 2>/dev/null &
  ASKER=$!
}

# group_diagnose: what each instance logged last and how it sees the group (for a failure).
group_diagnose() {
  local name
  for name in "${!URL[@]}"; do
    echo "--- $name: $(curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$name]}/v1/status" |
      python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("group")))' 2>/dev/null)"
    tail -n 8 "$WORK/$name.log" 2>/dev/null
  done
}
