#!/usr/bin/env bash
# Run the W1-W4 workloads for taskdump (the Go benchmarks of ./runtime),
# Python asyncio and Node.js, each in a fresh process, and print a markdown
# table of medians with peer/taskdump ratios.
#
# Every (implementation, workload) pair runs in its own fresh process, twice
# in a row: the first run is "cold" (nothing touched yet: what a program
# sees), the second "warm" (the same process again, pages and caches warm).
# W4 (memory) runs once. ROUNDS rounds are interleaved, the order of the
# implementations rotating each round, so that load from other users of the
# machine spreads over all of them; the table shows the median of the rounds.
#
# Usage: bench/compare.sh            (from any directory)
# Env:   ROUNDS=3         rounds (fresh processes per pair)
#        WORKLOADS="W1 W2 W3 W4"
#        GO_BINS="old=/tmp/old.test new=/tmp/new.test"
#                         compare prebuilt test binaries of ./runtime
#                         (go test -c); by default the working tree is built
#                         as "taskdump". With two or more, the last is the
#                         one the peer ratios use and a first/last column
#                         shows how many times faster the last is.
#        TIMEOUT=10m      wall-clock limit of one process
#        PYTHON=python3   Python interpreter for bench/peers/asyncio_bench.py
#        NODE=node        Node binary for bench/peers/node_bench.js
#        KEEP=dir         keep the raw per-run values (runs.txt) in dir
#
# After the table, the floors under the workloads (the last Go build's
# BenchmarkFloor*: a coroutine round trip, creating 100,000 coroutines, a
# parked coroutine's bytes), measured cold and warm the same way.
#
# All metrics are "lower is better", so ratio = peer / taskdump, i.e. "how
# many times taskdump is better". A missing tool or failed run shows as n/a;
# the script exits 1 if any run that was attempted failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

ROUNDS="${ROUNDS:-3}"
WORKLOADS="${WORKLOADS:-W1 W2 W3 W4}"
TIMEOUT="${TIMEOUT:-10m}"
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
runs="$tmp/runs.txt" # lines: <impl> <workload>@<run> <unit> <value>
: >"$runs"

declare -A gobench=(
  [W1]=BenchmarkW1SpawnGather [W2]=BenchmarkW2PingPong
  [W3]=BenchmarkW3Sleep [W4]=BenchmarkW4PendingEvent
)
declare -A unit=([W1]=ns/task [W2]=ns/handoff [W3]=ms-over-floor [W4]=B/task)

# --- implementations ----------------------------------------------------------
impls=()
declare -A gobin=()
if [ -n "${GO_BINS:-}" ]; then
  for spec in $GO_BINS; do
    impls+=("${spec%%=*}")
    gobin["${spec%%=*}"]="$(realpath "${spec#*=}")"
  done
elif command -v go >/dev/null 2>&1; then
  echo "building the runtime test binary..." >&2
  if go test -c -o "$tmp/taskdump.test" ./runtime >"$tmp/build.log" 2>&1; then
    impls+=(taskdump)
    gobin[taskdump]="$tmp/taskdump.test"
  else
    echo "warning: go test -c failed; taskdump column will be n/a:" >&2
    sed 's/^/  | /' "$tmp/build.log" >&2
    status=1
  fi
else
  echo "warning: go not found; taskdump column will be n/a" >&2
fi
gos=("${impls[@]}")
peers=()
command -v "$PYTHON" >/dev/null 2>&1 && peers+=(asyncio) || echo "warning: $PYTHON not found; asyncio column will be n/a" >&2
command -v "$NODE" >/dev/null 2>&1 && peers+=(node) || echo "warning: $NODE not found; node column will be n/a" >&2
impls+=("${peers[@]}")

# run_one <impl> <workload>: one fresh process; appends its runs to $runs.
run_one() {
  local impl="$1" w="$2" n=2 out="$tmp/out" rc=0
  [ "$w" = W4 ] && n=1
  case "$impl" in
  asyncio) BENCH_RUNS=$n timeout -k 10s "$TIMEOUT" "$PYTHON" bench/peers/asyncio_bench.py "$w" >"$out" 2>"$out.log" || rc=$? ;;
  node) BENCH_RUNS=$n timeout -k 10s "$TIMEOUT" "$NODE" --expose-gc bench/peers/node_bench.js "$w" >"$out" 2>"$out.log" || rc=$? ;;
  *)
    # A fresh test binary, -benchtime 1x: each -count is one run of the
    # workload, the first in an untouched process. SIGQUIT on a hang dumps
    # the goroutines.
    (cd "$root/runtime" && timeout -s QUIT -k 10s "$TIMEOUT" "${gobin[$impl]}" \
      -test.run '^$' -test.bench "^${gobench[$w]}\$" -test.benchtime 1x \
      -test.count "$n" -test.benchmem >"$out.raw" 2>"$out.log") || rc=$?
    awk -v w="$w" -v u="${unit[$w]}" '
      $1 ~ /^Benchmark/ { for (i = 3; i < NF; i++) if ($(i + 1) == u) { print w "@" k++, u, $i; break } }
    ' "$out.raw" >"$out"
    ;;
  esac
  if [ "$rc" -ne 0 ] || ! [ -s "$out" ]; then
    echo "warning: $impl $w failed (rc=$rc):" >&2
    sed 's/^/  | /' "$out.log" "$out.raw" 2>/dev/null | tail -20 >&2
    status=1
    return 0
  fi
  sed "s/^/$impl /" "$out" >>"$runs"
  echo "  $impl $w: $(tr '\n' ' ' <"$out")" >&2
}

# run_floors <impl>: the floors under the workloads (runtime/floor_bench_test.go),
# each in a fresh process of <impl>'s test binary, twice (cold, warm) but
# the parked coroutine's bytes (once, as W4). Appends to $floors.
floors="$tmp/floors.txt" # lines: <floor>@<run> <unit> <value>
: >"$floors"
run_floors() {
  local bin="${gobin[$1]}" spec name n bt u
  for spec in "Task 2 1x ns/task" "Switch 2 2000000x ns/switch" "NewCoro 2 1x ms/100k" "ParkedCoro 1 1x B/coro"; do
    read -r name n bt u <<<"$spec"
    (cd "$root/runtime" && timeout -s QUIT -k 10s "$TIMEOUT" "$bin" -test.run '^$' \
      -test.bench "^BenchmarkFloor${name}\$" -test.benchtime "$bt" -test.count "$n" 2>/dev/null) |
      awk -v f="$name" -v u="$u" '$1 ~ /^Benchmark/ { for (i = 3; i < NF; i++) if ($(i + 1) == u) { print f "@" k++, u, $i; break } }' >>"$floors" || true
  done
}

for ((r = 0; r < ROUNDS; r++)); do
  echo "round $((r + 1))/$ROUNDS..." >&2
  for w in $WORKLOADS; do
    k=${#impls[@]}
    for ((i = 0; i < k; i++)); do
      run_one "${impls[$(((i + r) % k))]}" "$w"
    done
  done
  [ "${#gos[@]}" -gt 0 ] && run_floors "${gos[-1]}"
done
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$runs" "$KEEP/runs.txt"

# --- table --------------------------------------------------------------------
# stats: the awk functions both tables use. median(key) is the median of the
# values v[key, 1..cnt[key]] ("n/a" if none); fmt rounds for the table.
stats='
  function median(key,   n, i, j, t, a) {
    n = cnt[key]; if (n == 0) return "n/a"
    for (i = 1; i <= n; i++) a[i] = v[key, i]
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function fmt(x) { return x == "n/a" ? x : (x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x)) }

'
awk -v gos="${gos[*]}" -v works="$WORKLOADS" "$stats"'
  function ratio(p, o) { return (p == "n/a" || o == "n/a" || o <= 0) ? "n/a" : sprintf("%.2f×", p / o) }
  { key = $1 SUBSEP $2; v[key, ++cnt[key]] = $4 + 0; u[$2] = $3 }
  END {
    ng = split(gos, g, " "); split(works, ws, " ")
    last = ng ? g[ng] : "taskdump"
    hdr = "| workload | metric |"; sep = "|---|---|"
    for (i = 1; i <= ng; i++) { hdr = hdr " " g[i] " |"; sep = sep "---:|" }
    hdr = hdr " asyncio | node | asyncio/" last " | node/" last " |"; sep = sep "---:|---:|---:|---:|"
    if (ng > 1) { hdr = hdr " " g[1] "/" last " |"; sep = sep "---:|" }
    print hdr; print sep
    title["W1"] = "W1 spawn+gather 200k"; title["W2"] = "W2 ping-pong 1M"
    title["W3"] = "W3 100k sleeps"; title["W4"] = "W4 100k pending"
    for (k = 1; k in ws; k++) {
      w = ws[k]
      for (run = 0; run < (w == "W4" ? 1 : 2); run++) {
        id = w "@" run
        m = ""; for (i = 1; i <= ng; i++) { mg[i] = median(g[i] SUBSEP id); m = m " " fmt(mg[i]) " |" }
        py = median("asyncio" SUBSEP id); nd = median("node" SUBSEP id)
        o = ng ? mg[ng] : "n/a"
        un = (id in u) ? u[id] : ""
        line = "| " title[w] (w == "W4" ? "" : (run ? ", warm" : ", cold")) " | " un " |" m " " fmt(py) " | " fmt(nd) " | " ratio(py, o) " | " ratio(nd, o) " |"
        if (ng > 1) line = line " " ratio(mg[1], o) " |"
        print line
      }
    }
  }
' "$runs"
echo "(medians of $ROUNDS rounds; cold = first run in a fresh process, warm = the second run in it)"

# --- floors -------------------------------------------------------------------
# What the coroutines a task runs on cost before the runtime adds anything
# (the last Go build's runtime/floor_bench_test.go; absent from older builds).
if [ -s "$floors" ]; then
  echo
  awk "$stats"'
    { v[$1, ++cnt[$1]] = $3 + 0; u[$1] = $2 }
    END {
      print "| floor | under | metric | cold | warm |"
      print "|---|---|---|---:|---:|"
      print "| a task record, its clock reads (step; creation shared by 64), one round trip per batch | W1, per task | ns/task | " fmt(median("Task@0")) " | " fmt(median("Task@1")) " |"
      print "| one coroutine round trip (two switches) | W2, per two handoffs | ns/round trip | " fmt(median("Switch@0")) " | " fmt(median("Switch@1")) " |"
      print "| creating 100,000 parked coroutines | W3, per run | ms/100k | " fmt(median("NewCoro@0")) " | " fmt(median("NewCoro@1")) " |"
      print "| a parked coroutine (heap and stack) | W4, per pending task | B/coro | " fmt(median("ParkedCoro@0")) " | |"
    }
  ' "$floors"
fi
exit "$status"
