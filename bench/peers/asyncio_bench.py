#!/usr/bin/env python3
"""Python asyncio peer for the taskdump W1-W4 benchmark workloads.

Usage: python3 asyncio_bench.py [W1|W2|W3|W4]

Prints one line per workload on stdout, e.g. "W1 ns/task 123.4".
Diagnostics (per-run numbers, cross-checks) go to stderr.
Keep in sync with node_bench.js and the Go benchmarks in ./runtime.
"""

import asyncio
import gc
import os
import random
import sys
import time
import tracemalloc

W1_TASKS, W1_RUNS = 200_000, 5  # best of 5 after 1 warm-up
W2_HANDOFFS, W2_RUNS = 1_000_000, 3
W3_TASKS, W3_RUNS, W3_MAX_MS = 100_000, 3, 100.0
W4_TASKS = 100_000

# BENCH_RUNS=N (bench/compare.sh sets it): run each workload exactly N times
# in this process, no warm-up, and print every run as "W1@<i> ns/task <x>";
# run 0 is the cold one (fresh process), the later ones warm.
RUNS = int(os.environ.get("BENCH_RUNS", "0"))
runs_seen = []


def runs(default):
    """How many runs a workload makes: default, or BENCH_RUNS when set."""
    return RUNS if RUNS > 0 else default


def seen(v):
    runs_seen.append(v)


def log(*args):
    print("#", *args, file=sys.stderr, flush=True)


# --- W1 spawn+gather --------------------------------------------------------

async def trivial(i):
    return i


async def w1_once(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(trivial(i)) for i in range(n)]
    res = await asyncio.gather(*tasks)
    elapsed = time.perf_counter_ns() - t0
    assert len(res) == n and res[-1] == n - 1
    return elapsed / n


async def w1():
    best = float("inf")
    for run in range(runs(W1_RUNS + 1)):
        gc.collect()
        v = await w1_once(W1_TASKS)
        seen(v)
        log(f"W1 run {run}{' (warm-up)' if run == 0 else ''}: {v:.1f} ns/task")
        if run > 0 or RUNS > 0:
            best = min(best, v)
    return best


# --- W2 ping-pong -----------------------------------------------------------

async def w2_once(n):
    """Two tasks pass a counter back and forth; each set_result is one handoff.

    slot[k] is the future player k is waiting on.  On waking, a player
    replaces its own slot with a fresh future *before* handing off, so the
    other side always resolves the right one.
    """
    loop = asyncio.get_running_loop()
    slot = [loop.create_future(), loop.create_future()]

    async def player(me, other, first):
        v = 0
        if not first:
            v = await slot[me]
            slot[me] = loop.create_future()
        while v < n:
            slot[other].set_result(v + 1)  # handoff number v + 1
            if v + 1 == n:
                break
            v = await slot[me]
            slot[me] = loop.create_future()

    t0 = time.perf_counter_ns()
    a = asyncio.create_task(player(0, 1, True))
    b = asyncio.create_task(player(1, 0, False))
    await asyncio.gather(a, b)
    elapsed = time.perf_counter_ns() - t0
    return elapsed / n


async def w2():
    best = float("inf")
    for run in range(runs(W2_RUNS)):
        gc.collect()
        v = await w2_once(W2_HANDOFFS)
        seen(v)
        log(f"W2 run {run}: {v:.1f} ns/handoff")
        best = min(best, v)
    return best


# --- W3 sleep ---------------------------------------------------------------

async def w3_once(n, rng):
    delays = [rng.uniform(0.0, W3_MAX_MS / 1000.0) for _ in range(n)]
    t0 = time.perf_counter_ns()
    await asyncio.gather(*(asyncio.create_task(asyncio.sleep(d)) for d in delays))
    wall_ms = (time.perf_counter_ns() - t0) / 1e6
    return wall_ms - W3_MAX_MS


async def w3():
    rng = random.Random(42)
    best = float("inf")
    for run in range(runs(W3_RUNS)):
        gc.collect()
        v = await w3_once(W3_TASKS, rng)
        seen(v)
        log(f"W3 run {run}: {v:.1f} ms over floor")
        best = min(best, v)
    return best


# --- W4 pending memory ------------------------------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096  # resident pages (4 KiB assumed)


async def w4():
    """Bytes of Python heap per task blocked in Event.wait().

    Primary number: tracemalloc "current" delta (exact Python allocations:
    Task, coroutine frame, waiter Future, deque slot, list slot for the task
    handle).  RSS delta is logged to stderr as a cross-check only; it is
    coarse (arena/page granularity) and includes tracemalloc's own overhead.
    """
    n = W4_TASKS
    ev = asyncio.Event()
    started = 0

    async def waiter():
        nonlocal started
        started += 1
        await ev.wait()

    gc.collect()
    tracemalloc.start()
    rss0 = rss_bytes()
    mem0, _ = tracemalloc.get_traced_memory()

    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    while started < n:  # let every task run up to ev.wait()
        await asyncio.sleep(0)
    gc.collect()

    mem1, _ = tracemalloc.get_traced_memory()
    rss1 = rss_bytes()
    tracemalloc.stop()

    ev.set()
    await asyncio.gather(*tasks)
    log(f"W4 tracemalloc delta {(mem1 - mem0) / n:.0f} B/task, "
        f"RSS delta {(rss1 - rss0) / n:.0f} B/task (cross-check only)")
    return (mem1 - mem0) / n


WORKLOADS = {
    "W1": (w1, "ns/task", "{:.1f}"),
    "W2": (w2, "ns/handoff", "{:.1f}"),
    "W3": (w3, "ms-over-floor", "{:.1f}"),
    "W4": (w4, "B/task", "{:.0f}"),
}


def main(argv):
    names = [a.upper() for a in argv[1:]] or list(WORKLOADS)
    bad = [a for a in names if a not in WORKLOADS]
    if bad:
        print(f"usage: {argv[0]} [W1|W2|W3|W4]  (unknown: {' '.join(bad)})", file=sys.stderr)
        return 2
    for name in names:
        fn, unit, fmt = WORKLOADS[name]
        runs_seen.clear()
        value = asyncio.run(fn())  # fresh event loop per workload
        if RUNS > 0:
            for i, v in enumerate(runs_seen or [value]):
                print(f"{name}@{i} {unit} {fmt.format(v)}", flush=True)
            continue
        print(f"{name} {unit} {fmt.format(value)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
