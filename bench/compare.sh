#!/usr/bin/env bash
# Run the W1-W4 workloads for taskdump (Go benchmarks in ./runtime), Python
# asyncio and Node.js, and print a markdown table with peer/ours ratios.
#
# Usage: bench/compare.sh            (from any directory)
# Env:   COUNT=3          go test -count (best value of the runs is used)
#        GO_TIMEOUT=20m   wall-clock limit for go test; on expiry the test
#                         binary gets SIGQUIT (goroutine dump), then SIGKILL
#        PYTHON=python3   Python interpreter for bench/peers/asyncio_bench.py
#        NODE=node        Node binary for bench/peers/node_bench.js
#
# All four metrics are "lower is better", so ratio = peer / taskdump, i.e.
# "how many times taskdump is better".  A missing tool or failed run shows as
# n/a; the script exits 1 if any run that was attempted failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

COUNT="${COUNT:-3}"
GO_TIMEOUT="${GO_TIMEOUT:-20m}"
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0

# Every result file ends up as lines "W<n> <unit> <value>".

# --- taskdump (Go) ------------------------------------------------------------
echo "running go benchmarks (count=$COUNT)..." >&2
go_rc=0
if command -v go >/dev/null 2>&1; then
  # timeout signals the whole process group, so the test binary (not just the
  # go command, which ignores SIGQUIT) dumps its goroutines if it hangs.
  timeout -s QUIT -k 30s "$GO_TIMEOUT" \
    go test -run '^$' -bench 'W[1-4]' -benchmem -count "$COUNT" ./runtime \
    >"$tmp/go.raw" 2>&1 || go_rc=$?
else
  echo "warning: go not found; taskdump column will be n/a" >&2
  go_rc=-1
fi
: >"$tmp/go.txt"
if [ "$go_rc" -eq 0 ]; then
  # Lines look like:
  #   BenchmarkW1SpawnGather-2  5  123 ns/op  180.5 ns/task  64 B/op  2 allocs/op
  # Keep the lowest value of the custom metric for each benchmark.
  awk '
    BEGIN {
      bench["BenchmarkW1SpawnGather"]  = "W1"; unit["W1"] = "ns/task"
      bench["BenchmarkW2PingPong"]     = "W2"; unit["W2"] = "ns/handoff"
      bench["BenchmarkW3Sleep"]        = "W3"; unit["W3"] = "ms-over-floor"
      bench["BenchmarkW4PendingEvent"] = "W4"; unit["W4"] = "B/task"
    }
    /^Benchmark/ {
      name = $1; sub(/-[0-9]+$/, "", name)   # strip the -GOMAXPROCS suffix
      if (!(name in bench)) next
      w = bench[name]
      for (i = 3; i < NF; i++)
        if ($(i + 1) == unit[w] && (!(w in best) || $i + 0 < best[w] + 0))
          best[w] = $i
    }
    END { for (w in best) print w, unit[w], best[w] }
  ' "$tmp/go.raw" | sort >"$tmp/go.txt"
  for w in W1 W2 W3 W4; do
    grep -q "^$w " "$tmp/go.txt" ||
      echo "warning: no $w metric in go test output (benchmark missing or no b.ReportMetric?)" >&2
  done
elif [ "$go_rc" -gt 0 ]; then
  if [ "$go_rc" -eq 124 ] || [ "$go_rc" -eq 137 ]; then
    echo "warning: go test timed out after $GO_TIMEOUT; taskdump column will be n/a. Output:" >&2
  else
    echo "warning: go test failed; taskdump column will be n/a. Output:" >&2
  fi
  sed 's/^/  | /' "$tmp/go.raw" >&2
  status=1
fi

# --- peers --------------------------------------------------------------------
# run_peer <label> <result file> <command...>
run_peer() {
  local label="$1" out="$2"
  shift 2
  : >"$out"
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "warning: $1 not found; $label column will be n/a" >&2
    return 0
  fi
  echo "running $label peer..." >&2
  # Per-run diagnostics on stderr are kept in a log, shown only on failure.
  if ! "$@" >"$out" 2>"$out.log"; then
    echo "warning: $label peer failed; its column will be n/a. Output:" >&2
    sed 's/^/  | /' "$out.log" >&2
    : >"$out"
    status=1
  fi
}

run_peer asyncio "$tmp/asyncio.txt" "$PYTHON" bench/peers/asyncio_bench.py
run_peer node "$tmp/node.txt" "$NODE" --expose-gc bench/peers/node_bench.js

# --- table --------------------------------------------------------------------
# Values are keyed by file name; rows are fixed W1..W4.
awk '
  BEGIN {
    split("W1 W2 W3 W4", order, " ")
    title["W1"] = "W1 spawn+gather"; unit["W1"] = "ns/task"
    title["W2"] = "W2 ping-pong";    unit["W2"] = "ns/handoff"
    title["W3"] = "W3 sleep";        unit["W3"] = "ms-over-floor"
    title["W4"] = "W4 pending mem";  unit["W4"] = "B/task"
  }
  $1 ~ /^W[1-4]$/ && $2 == unit[$1] && $3 ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ {
    val[FILENAME, $1] = $3
  }
  function get(f, w) { return ((f, w) in val) ? val[f, w] : "n/a" }
  function ratio(peer, ours) {
    if (peer == "n/a" || ours == "n/a" || ours + 0 <= 0) return "n/a"
    return sprintf("%.1f", peer / ours)
  }
  END {
    print "| workload | metric | taskdump | asyncio | node | asyncio/taskdump | node/taskdump |"
    print "|---|---|---:|---:|---:|---:|---:|"
    for (k = 1; k <= 4; k++) {
      w = order[k]
      g = get(GO, w); p = get(PY, w); n = get(NODE, w)
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", title[w], unit[w], g, p, n, ratio(p, g), ratio(n, g)
    }
  }
' GO="$tmp/go.txt" PY="$tmp/asyncio.txt" NODE="$tmp/node.txt" \
  "$tmp/go.txt" "$tmp/asyncio.txt" "$tmp/node.txt"

exit "$status"
