# Sourced by the test scripts. Ports are drawn below the kernel's ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range), which every outgoing connection of the tests
# takes its local port from: a port found free there could be taken by a client's
# connection before the server meant for it binds it.

# The range [low, high) the ports are drawn from.
port_pool() {
  local eph=32768
  if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
    read -r eph _ </proc/sys/net/ipv4/ip_local_port_range
  fi
  local low=10000 high=$eph
  if ((high - low < 2000)); then high=$((low + 2000)); fi  # an unusual range: best effort
  echo "$low $high"
}

# free_ports N prints N distinct TCP ports that nothing listens on (loopback), one per line.
free_ports() {
  local want=$1 p low high found=()
  read -r low high < <(port_pool)
  for _ in $(seq 1 200); do
    ((${#found[@]} >= want)) && break
    p=$((low + RANDOM % (high - low)))
    [[ " ${found[*]} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then found+=("$p"); fi
  done
  ((${#found[@]} >= want)) || { echo "no free ports found" >&2; return 1; }
  printf '%s\n' "${found[@]}"
}

# free_port_run N prints the first of N consecutive TCP ports that nothing listens on
# (for ops/cluster.sh, whose node K listens on BASE+2(K-1) and the port after it).
free_port_run() {
  local want=$1 base p free low high
  read -r low high < <(port_pool)
  for _ in $(seq 1 50); do
    base=$((low + 2 * (RANDOM % ((high - low - want) / 2)))) free=1
    for p in $(seq "$base" $((base + want - 1))); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then free=0; break; fi
    done
    ((free)) && { echo "$base"; return 0; }
  done
  echo "no $want consecutive free ports found" >&2
  return 1
}
