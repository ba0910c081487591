# Shared by the wrk benchmarks (sourced, not run): `run LABEL WRK-ARGS…` loads one URL
# with the caller's THREADS, CONNECTIONS and DURATION and prints one line of figures;
# LABEL_WIDTH sets the label column (default 40).

if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: apt-get install -y wrk" >&2
  exit 1
fi

run() {
  local label=$1
  shift
  local result rps p99 non2xx
  result=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  rps=$(echo "$result" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$result" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$result" | awk '/Non-2xx/ {print $5}')
  printf "%-${LABEL_WIDTH:-40}s %10s req/s   p99 %8s   non-2xx %s\n" \
    "$label" "$rps" "$p99" "${non2xx:-0}"
}
