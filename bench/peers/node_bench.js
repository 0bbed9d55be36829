#!/usr/bin/env node
// Node.js peer for the taskdump W1-W4 benchmark workloads.
//
// Usage: node --expose-gc node_bench.js [W1|W2|W3|W4]
//
// Prints one line per workload on stdout, e.g. "W1 ns/task 123.4".
// Diagnostics (per-run numbers) go to stderr.
// Keep in sync with asyncio_bench.py and the Go benchmarks in ./runtime.
'use strict';

const v8 = require('v8');
const vm = require('vm');

const W1_TASKS = 200_000, W1_RUNS = 5; // best of 5 after 1 warm-up
const W2_HANDOFFS = 1_000_000, W2_RUNS = 3;
const W3_TASKS = 100_000, W3_RUNS = 3, W3_MAX_MS = 100;
const W4_TASKS = 100_000;

// BENCH_RUNS=N (bench/compare.sh sets it): run each workload exactly N times
// in this process, no warm-up, and print every run as "W1@<i> ns/task <x>";
// run 0 is the cold one (fresh process), the later ones warm.
const RUNS = Number(process.env.BENCH_RUNS || 0);
const runs = (dflt) => (RUNS > 0 ? RUNS : dflt);
let runsSeen = [];

// W4 needs a real GC; obtain it even when --expose-gc was not passed.
if (typeof global.gc !== 'function') {
  v8.setFlagsFromString('--expose-gc');
  global.gc = vm.runInNewContext('gc');
}

const now = () => process.hrtime.bigint();
const log = (...a) => console.error('#', ...a);

// Promise plus its captured resolve function (the Node analogue of a Future).
function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

// Small seeded PRNG (mulberry32) so W3 delays are reproducible run to run.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- W1 spawn+gather ---------------------------------------------------------
// Note: an async function runs synchronously up to its first await, so each
// "task" has already finished when its promise is created; Promise.all then
// only has to collect 200k resolved promises.

async function trivial(i) { return i; }

async function w1Once(n) {
  const t0 = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = trivial(i);
  const res = await Promise.all(tasks);
  const elapsed = Number(now() - t0);
  if (res.length !== n || res[n - 1] !== n - 1) throw new Error('W1 bad result');
  return elapsed / n;
}

async function w1() {
  let best = Infinity;
  for (let run = 0; run < runs(W1_RUNS + 1); run++) {
    global.gc();
    const v = await w1Once(W1_TASKS);
    runsSeen.push(v);
    log(`W1 run ${run}${run === 0 ? ' (warm-up)' : ''}: ${v.toFixed(1)} ns/task`);
    if (run > 0 || RUNS > 0) best = Math.min(best, v);
  }
  return best;
}

// --- W2 ping-pong ------------------------------------------------------------
// slot[k] is the deferred player k is waiting on.  On waking, a player
// replaces its own slot with a fresh deferred *before* handing off; each
// resolve() is one handoff.

async function w2Once(n) {
  const slot = [deferred(), deferred()];

  async function player(me, other, first) {
    let v = 0;
    if (!first) {
      v = await slot[me].promise;
      slot[me] = deferred();
    }
    while (v < n) {
      slot[other].resolve(v + 1); // handoff number v + 1
      if (v + 1 === n) break;
      v = await slot[me].promise;
      slot[me] = deferred();
    }
  }

  const t0 = now();
  await Promise.all([player(0, 1, true), player(1, 0, false)]);
  return Number(now() - t0) / n;
}

async function w2() {
  let best = Infinity;
  for (let run = 0; run < runs(W2_RUNS); run++) {
    global.gc();
    const v = await w2Once(W2_HANDOFFS);
    runsSeen.push(v);
    log(`W2 run ${run}: ${v.toFixed(1)} ns/handoff`);
    best = Math.min(best, v);
  }
  return best;
}

// --- W3 sleep ----------------------------------------------------------------
// Delays are fractional ms, like asyncio.sleep(uniform(0, 0.1)).  Node keeps
// the fraction (one timer list per distinct duration); libuv fires at 1 ms
// granularity.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function w3Once(n, rand) {
  const delays = new Array(n);
  for (let i = 0; i < n; i++) delays[i] = rand() * W3_MAX_MS;
  const t0 = now();
  await Promise.all(delays.map((d) => sleep(d)));
  return Number(now() - t0) / 1e6 - W3_MAX_MS;
}

async function w3() {
  const rand = rng(42);
  let best = Infinity;
  for (let run = 0; run < runs(W3_RUNS); run++) {
    global.gc();
    const v = await w3Once(W3_TASKS, rand);
    runsSeen.push(v);
    log(`W3 run ${run}: ${v.toFixed(1)} ms over floor`);
    best = Math.min(best, v);
  }
  return best;
}

// --- W4 pending memory -------------------------------------------------------
// heapUsed growth per async function suspended on one shared promise
// (async fn promise + suspended generator/context + reaction on the gate +
// array slot for the handle).

async function w4() {
  const n = W4_TASKS;
  const gate = deferred();
  let started = 0;

  async function waiter() {
    started++;
    await gate.promise;
  }

  global.gc();
  const before = process.memoryUsage().heapUsed;
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = waiter(); // runs up to the await
  global.gc();
  const after = process.memoryUsage().heapUsed;
  if (started !== n) throw new Error('W4: not all tasks started');

  gate.resolve();
  await Promise.all(tasks);
  return (after - before) / n;
}

const WORKLOADS = {
  W1: [w1, 'ns/task', 1],
  W2: [w2, 'ns/handoff', 1],
  W3: [w3, 'ms-over-floor', 1],
  W4: [w4, 'B/task', 0],
};

async function main(argv) {
  const names = argv.length ? argv.map((a) => a.toUpperCase()) : Object.keys(WORKLOADS);
  const bad = names.filter((n) => !(n in WORKLOADS));
  if (bad.length) {
    console.error(`usage: node_bench.js [W1|W2|W3|W4]  (unknown: ${bad.join(' ')})`);
    return 2;
  }
  for (const name of names) {
    const [fn, unit, digits] = WORKLOADS[name];
    runsSeen = [];
    const value = await fn();
    if (RUNS > 0) {
      (runsSeen.length ? runsSeen : [value]).forEach((v, i) => console.log(`${name}@${i} ${unit} ${v.toFixed(digits)}`));
      continue;
    }
    console.log(`${name} ${unit} ${value.toFixed(digits)}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);
