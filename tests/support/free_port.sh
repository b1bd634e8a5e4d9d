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
