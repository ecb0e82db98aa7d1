/**
 * `npm run bench` (issue 4): throughput and memory of the real CLI on deterministic tick files,
 * each figure next to the floor measured in the same run (counting the file's newlines in Node),
 * with PASS/FAIL against the issue's targets. A miss is reported, never an exit code.
 *
 * Writes bench/results.json and bench/results.md (the README's performance section quotes it).
 * Tick files are generated once into .bench-cache/ (gitignored).
 */
import type { LiveLatency } from './live-latency.js';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { BIN, binEnv, binFlags } from './bin-flags.js';
import { runEngineStepBench } from './engine-step.js';
import { ensureTickFile } from './generate.js';
import { readerThreadByDefault } from '../src/core/services/backtest.js';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, '.bench-cache');
const CONFIG = join(ROOT, 'bench/bench.yaml');
const CONFIG_NO_ENTRY = join(ROOT, 'bench/bench-no-entry.yaml');
const TIME = '/usr/bin/time';
const HAS_TIME = existsSync(TIME);

interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Wall time over the newline-count floor of the same file, when the figure is a time. */
  ratioToFloor?: number | undefined;
  target?: string | undefined;
  pass?: boolean | undefined;
  note?: string | undefined;
}

const figures: Figure[] = [];

function record(figure: Figure): void {
  figures.push(figure);
  const verdict = figure.pass === undefined ? '' : figure.pass ? '  PASS' : '  FAIL';
  const ratio = figure.ratioToFloor === undefined ? '' : `  (${figure.ratioToFloor.toFixed(2)}× floor)`;
  const target = figure.target === undefined ? '' : `  target ${figure.target}`;
  console.log(
    `${figure.name.padEnd(46)} ${fmt(figure.value).padStart(12)} ${figure.unit.padEnd(9)}${ratio}${target}${verdict}${figure.note ? `  — ${figure.note}` : ''}`,
  );
}

function fmt(x: number): string {
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(2);
}

/** Lines of a file counted over 1 MiB chunks: the least any reader of the file must do. */
function countNewlines(file: string): { lines: number; ms: number } {
  const started = performance.now();
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      let at = buf.indexOf(10, 0);
      while (at >= 0 && at < n) {
        lines++;
        at = buf.indexOf(10, at + 1);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { lines, ms: performance.now() - started };
}

/**
 * Reads a file through once (by counting its lines: the reading is what matters), so that a timed
 * run finds it in the page cache, as the floor does. Some VMs (this one: DAMON reclaim) give idle
 * page cache back within seconds, so without this a figure would depend on how long ago the file
 * was last read (measured here: reading the 590 MB file takes 0.05 s from the page cache, 0.8 s
 * from disk).
 */
function warm(file: string): void {
  countNewlines(file);
}

/** The bench's tick files among a command's arguments (the ones `warm` reads before a timed run). */
function tickFilesIn(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith(CACHE) && /\.(csv|tgt)$/.test(arg) && existsSync(arg));
}

interface CliRun {
  ms: number;
  rssMb: number | undefined;
  /** CPU time of the command, user + system, all its threads (from /usr/bin/time). */
  cpuMs: number | undefined;
  /** Time the hypervisor ran something else on this VM's cores while the command ran, both cores. */
  stealMs: number | undefined;
  json: Record<string, unknown>;
}

/**
 * The machine's steal time so far (ms, all cores; the 8th field of /proc/stat's "cpu" line, in
 * USER_HZ ticks, 100 a second on Linux): time a virtual core was ready but the host ran another
 * guest. Undefined where there is no /proc/stat.
 */
function stealMsNow(): number | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const steal = Number(fields[8]);
  return Number.isFinite(steal) ? steal * 10 : undefined;
}

/**
 * The real CLI in a child process, run as a user runs `trailguard` (the executable with its
 * shebang and Node flags): wall clock of the command and its peak RSS.
 */
function cli(args: string[], v8Flags: string[] = []): CliRun {
  const [exe, ...exeArgs] = launch(args, v8Flags);
  const command = HAS_TIME ? TIME : exe!;
  const argv = HAS_TIME ? ['-f', 'TG_MAXRSS_KB=%M TG_CPU_S=%U+%S', exe!, ...exeArgs] : exeArgs;
  for (const file of tickFilesIn(args)) warm(file);
  const stealBefore = stealMsNow();
  const started = performance.now();
  const r = spawnSync(command, argv, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: '1', ...binEnv() },
  });
  const ms = performance.now() - started;
  const stealAfter = stealMsNow();
  if (r.status !== 0) throw new Error(`trailguard ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  const kb = /TG_MAXRSS_KB=(\d+)/.exec(r.stderr ?? '');
  const rssMb = kb ? Number(kb[1]) / 1024 : typeof json.peakRssMb === 'number' ? json.peakRssMb : undefined;
  const cpu = /TG_CPU_S=([\d.]+)\+([\d.]+)/.exec(r.stderr ?? '');
  const cpuMs = cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined;
  const stealMs = stealBefore === undefined || stealAfter === undefined ? undefined : stealAfter - stealBefore;
  return { ms, rssMb, cpuMs, stealMs, json };
}

/**
 * The command line that runs trailguard: its executable, or with extra V8 flags, Node on bin/run.js
 * with the flags of its first line, these, and its environment (binEnv, set in `env`).
 */
function launch(args: string[], v8Flags: string[]): string[] {
  if (v8Flags.length === 0) return [BIN, ...args];
  return [process.execPath, ...binFlags(), ...v8Flags, BIN, ...args];
}

/**
 * The live latency (bench/live-latency.ts) in a process of its own with trailguard's Node flags,
 * as `trailguard live` runs: measured in this process it ran after the engine-step bench, with
 * this process's larger young generation and heap, whose collections land in the samples.
 */
function liveLatencyInOwnProcess(samples: number): LiveLatency {
  const r = spawnSync(
    process.execPath,
    [...binFlags(), '--import', 'tsx', join(ROOT, 'bench/live-latency.ts'), '--json', String(samples)],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...binEnv() } },
  );
  if (r.status !== 0) throw new Error(`bench/live-latency.ts failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as LiveLatency;
}

interface ThreadStalls {
  ms: number;
  atLeast1msPerS: number;
  atLeast2msPerS: number;
  longestMs: number;
  stoppedMs: number;
}

/**
 * How often the machine stops a running thread: this process's main thread (nothing else runs in
 * it meanwhile) reads the clock in a loop for `ms`; a gap between two readings is time the thread
 * did not run (the hypervisor or the kernel ran something else). Gaps under 0.1 ms are not counted.
 */
function threadStalls(ms: number): ThreadStalls {
  const gaps: number[] = [];
  const started = performance.now();
  let last = started;
  for (;;) {
    const now = performance.now();
    if (now - last >= 0.1) gaps.push(now - last);
    last = now;
    if (now - started >= ms) break;
  }
  const elapsedS = (last - started) / 1000;
  return {
    ms: last - started,
    atLeast1msPerS: gaps.filter((g) => g >= 1).length / elapsedS,
    atLeast2msPerS: gaps.filter((g) => g >= 2).length / elapsedS,
    longestMs: Math.max(0, ...gaps),
    stoppedMs: gaps.reduce((a, b) => a + b, 0),
  };
}

/**
 * This machine against the one issue 4's figures were measured on, by two of those figures that
 * are plain CPU work in Node (the floor is mostly the kernel's copy and memchr): `Date.parse` of
 * the file's ISO times (the issue: 0.24–0.42 µs a call) and readline + split over the file's lines
 * (the issue: ~1M lines/s). Best of 3 each.
 */
async function calibration(file: string): Promise<{ dateParseUs: number; readlineLinesPerS: number }> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const times = lines
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.slice(0, l.indexOf(',')));
  lines.length = 0; // the file's text, freed before the timed loops
  let dateParseUs = Infinity;
  let sink = 0;
  for (let r = 0; r < 3; r++) {
    const started = performance.now();
    for (let i = 0; i < times.length; i++) sink += Date.parse(times[i]!);
    dateParseUs = Math.min(dateParseUs, ((performance.now() - started) * 1000) / times.length);
  }
  if (!(sink > 0)) throw new Error(`calibration: ${file} has unparsable times`);
  let readlineLinesPerS = 0;
  for (let r = 0; r < 3; r++) {
    const started = performance.now();
    let n = 0;
    let fields = 0;
    const input = createReadStream(file, { highWaterMark: 1 << 20 });
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      fields += line.split(',').length;
      n++;
    }
    if (fields < n) throw new Error(`calibration: ${file} lost its lines`);
    readlineLinesPerS = Math.max(readlineLinesPerS, (n / (performance.now() - started)) * 1000);
  }
  return { dateParseUs, readlineLinesPerS };
}

/** `cli` without waiting: for running several at once. */
function cliAsync(args: string[], v8Flags: string[] = []): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const [exe, ...exeArgs] = launch(args, v8Flags);
    const child = spawn(exe!, exeArgs, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...binEnv() },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`trailguard ${args.join(' ')} failed (${code}):\n${stderr}`)),
    );
  });
}

/** The best of `n` runs (by wall clock): the machine is shared, the best run is the least disturbed. */
function best(n: number, run: () => CliRun): CliRun {
  return bestOf(Array.from({ length: n }, run));
}

/** The fastest of the runs. */
function bestOf(runs: readonly CliRun[]): CliRun {
  let winner = runs[0]!;
  let maxRss = 0;
  for (const r of runs) {
    maxRss = Math.max(maxRss, r.rssMb ?? 0);
    if (r.ms < winner.ms) winner = r;
  }
  // Memory: the worst of the runs, so a lucky run cannot hide a peak.
  return { ...winner, rssMb: maxRss > 0 ? maxRss : winner.rssMb };
}

/** `best` of each command, their runs taken in turn: a drift of the machine's speed hits them alike. */
function bestInTurn(n: number, runs: readonly (() => CliRun)[]): CliRun[] {
  const all: CliRun[][] = runs.map(() => []);
  for (let i = 0; i < n; i++) runs.forEach((run, k) => all[k]!.push(run()));
  return all.map(bestOf);
}

function ticksOf(run: CliRun): number {
  return (run.json.ticks as { ticks: number }).ticks;
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 1e8) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  console.log(
    `trailguard bench — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`,
  );
  console.log(`peak RSS from ${HAS_TIME ? `${TIME} -f %M` : 'the backtest result (process.resourceUsage().maxRSS)'}\n`);

  const small = await ensureTickFile(join(CACHE, 'ticks-1m.csv'), 1_000_000);
  const large = await ensureTickFile(join(CACHE, 'ticks-10m.csv'), 10_000_000);
  for (const f of [small, large])
    if (f.generated) console.log(`generated ${relative(ROOT, f.path)} (${(f.bytes / 1e6).toFixed(0)} MB)`);

  // The floor: counting newlines, best of 3, each on a file just read (in the page cache).
  const floor = (file: string) => {
    let bestMs = Infinity;
    let lines = 0;
    for (let i = 0; i < 3; i++) {
      warm(file);
      const r = countNewlines(file);
      lines = r.lines;
      bestMs = Math.min(bestMs, r.ms);
    }
    return { lines, ms: bestMs };
  };
  const floor1 = floor(small.path);
  const floor10 = floor(large.path);
  record({
    name: 'newline count 10M file (the floor)',
    value: floor10.ms / 1000,
    unit: 's',
    note: `${(((floor10.lines / floor10.ms) * 1000) / 1e6).toFixed(1)}M lines/s, ${(((large.bytes / floor10.ms) * 1000) / 1e6).toFixed(0)} MB/s`,
  });
  record({ name: 'newline count 1M file', value: floor1.ms / 1000, unit: 's' });
  const calib = await calibration(small.path);
  record({
    name: 'machine: Date.parse of an ISO time',
    value: calib.dateParseUs,
    unit: 'µs',
    note: "issue 4's machine: 0.24–0.42 µs (plain CPU work in Node; best of 3 over the 1M file's times)",
  });
  record({
    name: 'machine: readline + split, lines/s',
    value: calib.readlineLinesPerS,
    unit: 'lines/s',
    note: "issue 4's machine: ~1M lines/s (best of 3 over the 1M file)",
  });

  cli([
    'backtest',
    'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv',
    '--config',
    'fixtures/configs/demo.yaml',
    '--out',
    join(CACHE, 'out-warmup'),
    '--json',
  ]);
  const startup = best(3, () =>
    cli([
      'backtest',
      'fixtures/ticks/IX.D.DAX.DAILY.IP-trailing.csv',
      '--config',
      'fixtures/configs/trailing.yaml',
      '--out',
      join(CACHE, 'out-startup'),
      '--json',
    ]),
  );
  record({
    name: 'CLI start-up (7-tick backtest)',
    value: startup.ms / 1000,
    unit: 's',
    note: `peak RSS ${startup.rssMb?.toFixed(0)} MB`,
  });

  // Text backtests: trailing + ladder + ATR stop + EMA-cross entry, journal written.
  const text1 = best(2, () =>
    cli(['backtest', small.path, '--config', CONFIG, '--out', join(CACHE, 'out-text-1m'), '--json']),
  );
  // On one thread (--no-reader-thread: the reader and the engine one after the other) and with
  // the reader thread, in turn; the target row is the one the CLI picks by default on this machine.
  const text10With = (flag: '--no-reader-thread' | '--reader-thread', out: string) => () =>
    cli(['backtest', large.path, '--config', CONFIG, '--out', join(CACHE, out), '--json', flag]);
  const [text10single, text10thread] = bestInTurn(3, [
    text10With('--no-reader-thread', 'out-text-10m-single'),
    text10With('--reader-thread', 'out-text-10m-thread'),
  ]) as [CliRun, CliRun];
  const threadByDefault = readerThreadByDefault([large.path], large.bytes);
  const [text10, text10other] = threadByDefault ? [text10thread, text10single] : [text10single, text10thread];
  const tps10 = (ticksOf(text10) / text10.ms) * 1000;
  const tps1 = (ticksOf(text1) / text1.ms) * 1000;
  record({
    name: 'backtest 10M ticks, text (CLI wall clock)',
    value: tps10,
    unit: 'ticks/s',
    ratioToFloor: text10.ms / floor10.ms,
    target: '≥ 3M/s, ≤ 11× floor',
    pass: tps10 >= 3e6 && text10.ms / floor10.ms <= 11,
    note: `${(text10.ms / 1000).toFixed(2)} s, ${(large.bytes / text10.ms / 1000).toFixed(0)} MB/s; ${threadByDefault ? 'with the reader thread' : 'one thread'}, the default on ${availableParallelism()} cores`,
  });
  record({
    name: `backtest 10M ticks, text, ${threadByDefault ? '--no-reader-thread' : '--reader-thread'}`,
    value: (ticksOf(text10other) / text10other.ms) * 1000,
    unit: 'ticks/s',
    ratioToFloor: text10other.ms / floor10.ms,
    note: `${(text10other.ms / 1000).toFixed(2)} s, peak RSS ${text10other.rssMb?.toFixed(0)} MB`,
  });
  record({
    name: 'backtest 1M ticks, text (CLI wall clock)',
    value: tps1,
    unit: 'ticks/s',
    ratioToFloor: text1.ms / floor1.ms,
    note: `${(text1.ms / 1000).toFixed(2)} s`,
  });
  record({
    name: 'peak RSS, backtest 10M text',
    value: text10.rssMb ?? Number.NaN,
    unit: 'MB',
    target: '≤ 100 MB',
    pass: (text10.rssMb ?? Infinity) <= 100,
  });
  record({
    name: 'peak RSS, backtest 1M text',
    value: text1.rssMb ?? Number.NaN,
    unit: 'MB',
    target: '≤ 100 MB',
    pass: (text1.rssMb ?? Infinity) <= 100,
  });
  const growth = (text10.rssMb ?? Number.NaN) - (text1.rssMb ?? Number.NaN);
  record({
    name: 'peak RSS growth 1M → 10M ticks',
    value: growth,
    unit: 'MB',
    target: '≤ 10 MB (flat)',
    pass: growth <= 10,
  });

  // The binary tick cache.
  const tgt10 = join(CACHE, 'ticks-10m.tgt');
  rmSync(tgt10, { force: true });
  const imp = cli(['ticks', 'import', large.path, '--out', tgt10, '--json']);
  const impTps = ((imp.json.ticks as number) / imp.ms) * 1000;
  record({
    name: 'ticks import 10M text → .tgt (CLI)',
    value: impTps,
    unit: 'ticks/s',
    ratioToFloor: imp.ms / floor10.ms,
    note: `${(imp.ms / 1000).toFixed(2)} s, ${(statSync(tgt10).size / 1e6).toFixed(0)} MB (${(large.bytes / statSync(tgt10).size).toFixed(1)}× smaller), peak RSS ${imp.rssMb?.toFixed(0)} MB`,
  });
  const cache10 = best(3, () =>
    cli(['backtest', tgt10, '--config', CONFIG, '--out', join(CACHE, 'out-tgt-10m'), '--json']),
  );
  const cacheTps = (ticksOf(cache10) / cache10.ms) * 1000;
  const inner = cache10.json.ticksPerSecond as number;
  record({
    name: 'backtest 10M ticks from .tgt (CLI wall clock)',
    value: cacheTps,
    unit: 'ticks/s',
    ratioToFloor: cache10.ms / floor10.ms,
    target: '≥ 10M/s',
    pass: cacheTps >= 10e6,
    note: `${(cache10.ms / 1000).toFixed(2)} s; ${(inner / 1e6).toFixed(1)}M/s inside runBacktest; peak RSS ${cache10.rssMb?.toFixed(0)} MB`,
  });
  // The same file with no entry, so no position: what the cache's path costs before the rules work.
  const bare10 = best(3, () =>
    cli(['backtest', tgt10, '--config', CONFIG_NO_ENTRY, '--out', join(CACHE, 'out-tgt-10m-no-entry'), '--json']),
  );
  record({
    name: 'backtest 10M ticks from .tgt, no entry (no position ever: reader, run loop, broker, engine step, ATR candles)',
    value: (ticksOf(bare10) / bare10.ms) * 1000,
    unit: 'ticks/s',
    ratioToFloor: bare10.ms / floor10.ms,
    note: `${(bare10.ms / 1000).toFixed(2)} s; ${((bare10.json.ticksPerSecond as number) / 1e6).toFixed(1)}M/s inside runBacktest`,
  });
  // The journals of both text runs (one thread and the reader thread) against the cache's.
  const sameJournal = ['out-text-10m-single', 'out-text-10m-thread'].every((dir) =>
    readFileSync(join(CACHE, 'out-tgt-10m', 'trade_history.csv')).equals(
      readFileSync(join(CACHE, dir, 'trade_history.csv')),
    ),
  );
  record({
    name: 'journal from .tgt = journal from text (10M)',
    value: sameJournal ? 1 : 0,
    unit: 'bool',
    target: 'identical',
    pass: sameJournal,
  });

  // Sweep scaling: the same 8-combination grid on 1 and 2 worker threads, over the cache.
  const grid = ['--sweep', 'exits.trailing.distance=8..14:2', '--sweep', 'exits.trailing.activateAt=20,30'];
  const sweepArgs = (out: string, sweeps: string[], jobs: number) => [
    'backtest',
    tgt10,
    '--config',
    CONFIG,
    '--out',
    join(CACHE, out),
    ...sweeps,
    '--jobs',
    String(jobs),
    '--json',
  ];
  const sweep = (jobs: number) => cli(sweepArgs(`out-sweep-${jobs}`, grid, jobs));
  // The machine's own ceiling for that scaling: one backtest of the cache alone, then two at once
  // in two processes (nothing shared but the hardware).
  // Alternated, best of 3 each: the machine's speed drifts over minutes, and two figures taken
  // one after the other would compare two different machines.
  const runAlone = () => cli(['backtest', tgt10, '--config', CONFIG, '--out', join(CACHE, 'out-alone'), '--json']);
  const runPair = async () => {
    warm(tgt10);
    const started = performance.now();
    await Promise.all(
      [0, 1].map((k) =>
        cliAsync(['backtest', tgt10, '--config', CONFIG, '--out', join(CACHE, `out-pair-${k}`), '--json']),
      ),
    );
    return performance.now() - started;
  };
  let aloneMs = Infinity;
  let pairMs = Infinity;
  for (let i = 0; i < 3; i++) {
    aloneMs = Math.min(aloneMs, runAlone().ms);
    pairMs = Math.min(pairMs, await runPair());
  }
  const ceiling = (2 * aloneMs) / pairMs;
  record({
    name: 'machine ceiling: 2 backtests at once vs 1',
    value: ceiling,
    unit: '×',
    note: `one ${(aloneMs / 1000).toFixed(2)} s, two in parallel processes ${(pairMs / 1000).toFixed(2)} s: the most 2 jobs can give here`,
  });
  // The same with V8's optimising compiler on each process's main thread (`--single-threaded`). A
  // backtest alone uses about 1.2 cores: V8 compiles its hot functions again and again as new
  // paths are taken (the first position, the first partial close…), on background threads, that
  // is on the core the backtest leaves idle. Two processes at once cannot both borrow it. With the
  // compiles on the main thread, the ratio is what the two cores themselves give.
  const singleThreaded = ['--single-threaded'];
  const args1 = (out: string) => ['backtest', tgt10, '--config', CONFIG, '--out', join(CACHE, out), '--json'];
  let aloneStMs = Infinity;
  let pairStMs = Infinity;
  for (let i = 0; i < 3; i++) {
    aloneStMs = Math.min(aloneStMs, cli(args1('out-alone-st'), singleThreaded).ms);
    warm(tgt10);
    const started = performance.now();
    await Promise.all([0, 1].map((k) => cliAsync(args1(`out-pair-st-${k}`), singleThreaded)));
    pairStMs = Math.min(pairStMs, performance.now() - started);
  }
  record({
    name: "machine ceiling with V8's compiler on the main thread (--single-threaded): 2 backtests at once vs 1",
    value: (2 * aloneStMs) / pairStMs,
    unit: '×',
    note: `one ${(aloneStMs / 1000).toFixed(2)} s, two in parallel processes ${(pairStMs / 1000).toFixed(2)} s: what the cores give when neither process borrows the other's`,
  });
  // The sweep's own ceiling: its grid as two 4-combination sweeps on one job each, in two processes
  // at once, against the whole grid on one job. Two jobs give each worker 4 of the 8, but one job
  // runs all 8 combinations in one pass, reading and decoding the ticks once for 8 instead of
  // once for 4: a different case from the single backtests above, and the one the 2-job sweep is.
  const halfPair = async () => {
    warm(tgt10);
    const started = performance.now();
    await Promise.all(
      ['20', '30'].map((activateAt) =>
        cliAsync(
          sweepArgs(
            `out-sweep-half-${activateAt}`,
            ['--sweep', 'exits.trailing.distance=8..14:2', '--sweep', `exits.trailing.activateAt=${activateAt}`],
            1,
          ),
        ),
      ),
    );
    return performance.now() - started;
  };
  const fasterSweep = (a: CliRun, b: CliRun) => ((a.json.elapsedMs as number) <= (b.json.elapsedMs as number) ? a : b);
  let s1 = sweep(1);
  let s2 = sweep(2);
  let halfPairMs = await halfPair();
  for (let i = 1; i < 3; i++) {
    s1 = fasterSweep(s1, sweep(1));
    s2 = fasterSweep(s2, sweep(2));
    halfPairMs = Math.min(halfPairMs, await halfPair());
  }
  const sweepCeiling = s1.ms / halfPairMs;
  record({
    name: 'sweep ceiling: the grid as two 4-combination 1-job sweeps in parallel processes vs one 8-combination 1-job sweep',
    value: sweepCeiling,
    unit: '×',
    note: `one sweep ${(s1.ms / 1000).toFixed(2)} s, two halves in parallel processes ${(halfPairMs / 1000).toFixed(2)} s (wall clock)`,
  });
  const scaling = (s1.json.elapsedMs as number) / (s2.json.elapsedMs as number);
  // Two threads of one process cannot gain much more than two processes that share nothing: a
  // figure well above this run's ceiling says the machine's speed drifted between the timed runs
  // (seen once: 1.88× against a ceiling of 1.47×, the 1-job sweeps all in a slow phase), so it
  // does not count as a pass.
  const aboveCeiling = scaling > ceiling * 1.05;
  record({
    name: 'sweep 8 × 10M ticks, 1 → 2 jobs scaling',
    value: scaling,
    unit: '×',
    target: '≥ 1.8×',
    pass: scaling >= 1.8 && !aboveCeiling,
    note: `sweep ${((s1.json.elapsedMs as number) / 1000).toFixed(2)} s → ${((s2.json.elapsedMs as number) / 1000).toFixed(2)} s (wall ${(s1.ms / 1000).toFixed(2)} → ${(s2.ms / 1000).toFixed(2)} s, ${(s1.ms / s2.ms).toFixed(2)}×); peak RSS ${s2.rssMb?.toFixed(0)} MB${aboveCeiling ? `; above this run's machine ceiling (${ceiling.toFixed(2)}×): the machine's speed drifted between the runs, not a pass` : ''}`,
  });

  // Where the 2-job sweep's time goes: its CPU time (all threads, user + system) against the 1-job
  // sweep's. On two cores the 2-job sweep cannot take less wall time than half its CPU time, so
  // its scaling is at most the 1-job wall time over that, whatever the scheduling: a bound under
  // the target says the miss is CPU time that two jobs spend beyond what one spends (contention
  // for the machine, each worker's own start-up, reading and warm-up), not a core left idle.
  if (s1.cpuMs !== undefined && s2.cpuMs !== undefined) {
    const bound = s1.ms / (s2.cpuMs / 2);
    const steal = (run: CliRun) => (run.stealMs === undefined ? '' : `, steal ${(run.stealMs / 1000).toFixed(2)} s`);
    record({
      name: 'sweep CPU time, 2 jobs over 1 job (the same grid)',
      value: s2.cpuMs / s1.cpuMs,
      unit: '×',
      note: `1 job ${(s1.cpuMs / 1000).toFixed(2)} s of CPU in ${(s1.ms / 1000).toFixed(2)} s (${((100 * s1.cpuMs) / s1.ms).toFixed(0)}% of a core${steal(s1)}), 2 jobs ${(s2.cpuMs / 1000).toFixed(2)} s in ${(s2.ms / 1000).toFixed(2)} s (${((100 * s2.cpuMs) / s2.ms).toFixed(0)}%${steal(s2)}): with both cores busy from start to end, 2 jobs scale at most ${bound.toFixed(2)}×`,
    });
  }

  // A sweep of the text file: each worker reads it once per pass, for all its combinations.
  const textSweep = cli([
    'backtest',
    large.path,
    '--config',
    CONFIG,
    '--out',
    join(CACHE, 'out-sweep-text'),
    ...grid,
    '--jobs',
    '1',
    '--json',
  ]);
  const combos = textSweep.json.combinations as number;
  record({
    name: `sweep ${combos} × 10M ticks, text, 1 job (ticks/s over all combinations)`,
    value: ((ticksOf(text10) * combos) / textSweep.ms) * 1000,
    unit: 'ticks/s',
    note: `${(textSweep.ms / 1000).toFixed(2)} s wall, one read of the file for ${combos} combinations; ${combos} single backtests on one thread: ${((combos * text10single.ms) / 1000).toFixed(1)} s; peak RSS ${textSweep.rssMb?.toFixed(0)} MB`,
  });

  // The engine's step with 20 open positions across 5 markets, in this process.
  const step = runEngineStepBench({ ticks: 1_000_000, warmup: 100_000 });
  record({
    name: 'engine step p99, 20 positions / 5 markets',
    value: step.p99Us,
    unit: 'µs',
    target: '≤ 20 µs',
    pass: step.p99Us <= 20,
    note: `p50 ${step.p50Us.toFixed(2)} µs, p99.9 ${step.p999Us.toFixed(1)} µs, max ${step.maxUs.toFixed(0)} µs, mean ${step.meanUs.toFixed(2)} µs; ${step.meanOpenPositions.toFixed(1)} positions open on average`,
  });

  // Live: a tick on the stream to the amend request, against the fake IG on loopback. First, how
  // often this VM takes a running thread away (what no code can avoid), then the latency itself:
  // the least disturbed of three runs, as the best of n elsewhere, with all three given.
  const stalls = threadStalls(5000);
  record({
    name: 'machine: a busy thread stopped for ≥ 1 ms',
    value: stalls.atLeast1msPerS,
    unit: '/s',
    note: `≥ 2 ms ${stalls.atLeast2msPerS.toFixed(1)}/s, longest ${stalls.longestMs.toFixed(1)} ms, ${stalls.stoppedMs.toFixed(0)} ms stopped over ${(stalls.ms / 1000).toFixed(0)} s of a loop that only reads the clock, on this otherwise idle process: a tick that meets one is late by its length`,
  });
  const latencies = [0, 1, 2].map(() => liveLatencyInOwnProcess(2000));
  const latency = latencies.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
  record({
    name: 'live tick → amend request leaving the process, p99',
    value: latency.p99Ms,
    unit: 'ms',
    target: '≤ 2 ms',
    pass: latency.p99Ms <= 2,
    note: `the least disturbed of 3 runs (p99 ${latencies.map((l) => l.p99Ms.toFixed(2)).join(', ')} ms); p50 ${latency.p50Ms.toFixed(2)} ms, max ${latency.maxMs.toFixed(1)} ms over ${latency.samples} ticks against the fake IG; end to end through the fake's stream and HTTP: p50 ${latency.endToEndP50Ms.toFixed(2)} ms, p99 ${latency.endToEndP99Ms.toFixed(2)} ms`,
  });

  const results = {
    date: new Date().toISOString(),
    machine,
    rssSource: HAS_TIME ? '/usr/bin/time %M' : 'process.resourceUsage().maxRSS',
    floor: {
      file10m: { bytes: large.bytes, lines: floor10.lines, ms: floor10.ms },
      file1m: { bytes: small.bytes, lines: floor1.lines, ms: floor1.ms },
    },
    figures,
    engineStep: step,
    benchSeconds: (performance.now() - benchStarted) / 1000,
  };
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const table = markdown(results.machine, figures, results.date);
  writeFileSync(join(ROOT, 'bench/results.md'), table);
  updateReadme(table);
  console.log(`\nbench/results.json, bench/results.md written; ${results.benchSeconds.toFixed(0)} s in all`);
}

/** The README's performance section is the bench's own table, between two markers. */
function updateReadme(table: string): void {
  const path = join(ROOT, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) return;
  writeFileSync(path, `${readme.slice(0, i + start.length)}\n${table}${readme.slice(j)}`);
}

function markdown(
  machine: { cpu: string; cores: number; memoryGb: number; node: string },
  rows: Figure[],
  date: string,
): string {
  const lines = [
    `Measured by \`npm run bench\` on ${date.slice(0, 10)}: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}. Backtests use bench/bench.yaml (trailing stop, profit ladder, ATR stop, EMA-cross entry; journal written) through the real CLI; the floor is counting the newlines of the same file in Node, 1 MiB chunks.`,
    '',
    '| figure | value | × floor | target | |',
    '|---|---:|---:|---|---|',
    ...rows.map(
      (f) =>
        `| ${f.name}${f.note ? ` (${f.note})` : ''} | ${fmt(f.value)} ${f.unit} | ${f.ratioToFloor === undefined ? '' : f.ratioToFloor.toFixed(2)} | ${f.target ?? ''} | ${f.pass === undefined ? '' : f.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
