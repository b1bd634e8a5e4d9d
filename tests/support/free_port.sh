# Sourced by the test scripts. free_ports N prints N distinct TCP ports that nothing
# listens on (loopback), one per line.
free_ports() {
  local want=$1 p found=()
  for _ in $(seq 1 200); do
    ((${#found[@]} >= want)) && break
    p=$((20000 + RANDOM % 20000))
    [[ " ${found[*]} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then found+=("$p"); fi
  done
  ((${#found[@]} >= want)) || { echo "no free ports found" >&2; return 1; }
  printf '%s\n' "${found[@]}"
}

# free_port_run N prints the first of N consecutive TCP ports that nothing listens on
# (for ops/cluster.sh, whose node K listens on BASE+2(K-1) and the port after it).
free_port_run() {
  local want=$1 base p free
  for _ in $(seq 1 50); do
    base=$((20000 + 2 * (RANDOM % 10000))) free=1
    for p in $(seq "$base" $((base + want - 1))); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then free=0; break; fi
    done
    ((free)) && { echo "$base"; return 0; }
  done
  echo "no $want consecutive free ports found" >&2
  return 1
}
