import { readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isTickCacheFile, openAnyTickSource } from '../adapters/files/tick-cache/index.js';
import { ThreadedTickSource } from '../adapters/files/tick-thread/source.js';
import { checkTickFiles } from '../adapters/files/ticks/chunks.js';
import { consumeInTimeOrder, type TickReadOptions } from '../adapters/files/ticks/index.js';
import { CsvJournal } from '../adapters/files/journal-csv.js';
import { makeOutputDir } from '../adapters/files/output-dir.js';
import { SimBroker } from '../adapters/sim/sim-broker.js';
import { round8 } from '../engine/numeric.js';
import { configWarnings } from '../config/warnings.js';
import { loadConfig, selectMarkets } from '../config/load.js';
import type { Config, MarketConfig } from '../domain/config.js';
import type { AlertAction } from '../domain/events.js';
import { InvariantError } from '../domain/errors.js';
import type { Tick } from '../domain/types.js';
import type { EntryStrategy } from '../entries/types.js';
import type { TickBatch, TickSource } from '../ports/market-data.js';
import { buildEntries } from './entries.js';
import { EngineRunner } from './run-engine.js';
import {
  summariseOpen,
  SummaryBuilder,
  type OpenPositionSummary,
  type TickSummary,
  type TradeSummary,
} from './summary.js';

export type TickFormat = 'standard' | 'histdata' | 'dukascopy';

export interface BacktestOptions {
  configPath: string;
  tickFiles: readonly string[];
  outDir: string;
  from?: number | undefined;
  to?: number | undefined;
  /** Restrict to these markets (and name the market of files without a market column). */
  markets?: readonly string[] | undefined;
  format: TickFormat;
  strict: boolean;
  timezone?: string | undefined;
  onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
  /** Preloaded configuration (tests, sweeps); else read from configPath. */
  config?: Config | undefined;
  /**
   * Read the ticks on a thread of their own, in parallel with the engine. Default: for text files
   * holding more than READER_THREAD_MIN_BYTES on a machine with more than READER_THREAD_MIN_CORES
   * core (below that, starting a thread costs more than it saves; a tick cache decodes in a tenth
   * of the engine's time, and measured slower with the thread). A sweep turns it off: its workers
   * use every core.
   */
  readerThread?: boolean | undefined;
  /**
   * Leave the journal and summary under their temporary names (`runTempFiles`): a sweep moves
   * every combination's into place only when all have run (`commitRunFiles`), so a failed sweep
   * leaves an earlier one's files as they were.
   */
  deferCommit?: boolean | undefined;
}

/**
 * Ticks of a batch that the runs of one pass (a sweep worker's) replay in turn. The times, prices
 * and markets of 2,048 ticks are 56 KB, which stay in a core's L2 cache beside the runs' own state;
 * before, each run read the whole batch (1.8 MB for a cache block) again from memory the other core
 * shares. Measured on the bench's 8-combination sweep of a 10M-tick cache with 2 jobs, with and
 * without slices in turn: median 6.38 → 6.02 s over 14 pairs. Slices of 512 and 8,192 ticks
 * measured the same as 2,048 within the VM's noise. (The cache reader now yields blocks in parts
 * of DECODE_TICKS, 230 KB of columns; text batches are larger.)
 */
export const PASS_SLICE_TICKS = 2048;

/** Tick files smaller than this (in all) are read on the engine's thread by default. */
export const READER_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Machines with this many cores or fewer read on the engine's thread by default. On the bench's
 * 2-vCPU VM, where the two vCPUs slow each other down, the thread has been a close call (from 15%
 * slower to 15% faster over earlier measurements, 10M ticks of text); with the shared buffers it
 * measured faster, 2.57 against 2.87 s and 2.68 against 3.31 s (medians of 7, alternated). A tick
 * cache decodes too fast for the thread to pay (1.98 → 2.26 s).
 */
const READER_THREAD_MIN_CORES = 1;

/** Whether a backtest of these tick files (`totalBytes` in all) reads them on a thread of its own unless told. */
export function readerThreadByDefault(tickFiles: readonly string[], totalBytes: number): boolean {
  return (
    availableParallelism() > READER_THREAD_MIN_CORES &&
    totalBytes > READER_THREAD_MIN_BYTES &&
    !tickFiles.some((file) => isTickCacheFile(file))
  );
}

export interface BacktestResult {
  journalPath: string;
  summaryPath: string;
  markets: string[];
  ticks: TickSummary;
  trades: TradeSummary;
  openPositions: OpenPositionSummary[];
  unrealisedAmount: number;
  alerts: { level: string; message: string }[];
  elapsedMs: number;
  ticksPerSecond: number;
  /** Peak resident memory of the process so far (maxRSS), for the bench and memory checks. */
  peakRssMb: number;
}

/**
 * Replays tick files through the engine and the simulated broker (SPEC §2, §8). The journal is
 * written to a temporary file and renamed into place only when the run succeeds, so a failed run
 * (bad input with --strict, a crash) never leaves a half-written trade_history.csv behind.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  return (await runBacktests([options]))[0] as BacktestResult;
}

/** What must be equal for configurations to share one read of the ticks (a sweep's combinations). */
function tickInputKey(options: BacktestOptions, markets: readonly MarketConfig[]): string {
  const { tickFiles, format, strict, timezone, from, to } = options;
  return JSON.stringify([tickFiles, format, strict, timezone, from, to, options.markets, markets.map((m) => m.market)]);
}

/** One configuration's run: its engine, simulated broker, journal (under a temporary name) and summary. */
interface Run {
  markets: readonly MarketConfig[];
  journalPath: string;
  summaryPath: string;
  tmpJournal: string;
  /** The configuration's warnings (configWarnings), first among the result's alerts. */
  warnings: string[];
  journal: CsvJournal;
  summary: SummaryBuilder;
  alerts: AlertAction[];
  runner: EngineRunner;
}

/** What a run needs before it opens anything: its configuration, markets and entry strategies. */
interface RunPlan {
  outDir: string;
  config: Config;
  markets: MarketConfig[];
  entries: Map<string, EntryStrategy>;
  /** Said while the entries were built (signal rows that close at once). */
  entryWarnings: string[];
}

/**
 * A run's files while it writes them, renamed when it is done. The process's pid, not the
 * thread's: a sweep's main thread removes those of a worker it stopped (runSweep).
 */
export function runTempFiles(outDir: string): { journal: string; summary: string } {
  return {
    journal: join(outDir, `.trade_history.csv.${process.pid}.tmp`),
    summary: join(outDir, `summary.json.${process.pid}.tmp`),
  };
}

/**
 * Removes what an interrupted backtest or sweep of this process was writing in `outDir`: its run's
 * temporary files and those of its combinations (`<outDir>/<n>/`), and a sweep's table. Synchronous,
 * for a signal handler that exits the process next (worker threads stop with it).
 */
export function removeRunTempFiles(outDir: string, options: { madeOutDir: boolean }): void {
  const dir = resolve(outDir);
  const remove = (runDir: string) => {
    const tmp = runTempFiles(runDir);
    rmSync(tmp.journal, { force: true });
    rmSync(tmp.summary, { force: true });
    removeIfEmpty(runDir); // a combination's folder this run made, nothing in it
  };
  rmSync(sweepTableTempFile(dir), { force: true });
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // not made yet
  }
  for (const name of names) if (/^[1-9]\d*$/.test(name)) remove(join(dir, name));
  const tmp = runTempFiles(dir);
  rmSync(tmp.journal, { force: true });
  rmSync(tmp.summary, { force: true });
  if (options.madeOutDir) removeIfEmpty(dir);
}

/** A sweep's `sweep.csv` while it is written (renamed into place when every combination has run). */
export function sweepTableTempFile(outDir: string): string {
  return join(outDir, `.sweep.csv.${process.pid}.tmp`);
}

/** Removes a directory that holds nothing; leaves any other alone. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or gone: left as it is
  }
}

/** Moves a run's journal and summary, written with `deferCommit`, into place. */
export function commitRunFiles(outDir: string): void {
  const tmp = runTempFiles(outDir);
  renameSync(tmp.journal, join(outDir, 'trade_history.csv'));
  renameSync(tmp.summary, join(outDir, 'summary.json'));
}

/** Creates the run's output directory and opens its journal there, under its temporary name. */
function openRun({ outDir, config, markets, entries, entryWarnings }: RunPlan): Run {
  makeOutputDir(outDir);
  const tmpJournal = runTempFiles(outDir).journal;
  rmSync(tmpJournal, { force: true });
  const journal = new CsvJournal(tmpJournal, { durable: false, bufferRows: 1024 });
  const summary = new SummaryBuilder();
  const alerts: AlertAction[] = [];
  const runner = new EngineRunner({
    setup: { markets, strategies: config.strategies, entries },
    broker: new SimBroker(markets),
    journal,
    onJournalRow: (row) => summary.add(row),
    onAlert: (alert) => alerts.push(alert),
  });
  return {
    markets,
    journalPath: join(outDir, 'trade_history.csv'),
    summaryPath: join(outDir, 'summary.json'),
    tmpJournal,
    warnings: [...configWarnings(config), ...entryWarnings],
    journal,
    summary,
    alerts,
    runner,
  };
}

/** The state of one pass over the ticks that lasts from batch to batch. */
interface Pass {
  /** The one tick object of the pass (see runBacktests). */
  tick: Tick;
  /** Index in `names` of the market `tick.market` holds, -1 before the first tick. */
  tickMarket: number;
  /** The source's markets, by the index a batch's `market` column holds. */
  names: readonly string[];
  /** A market's name → the configuration's own key for it (see runBacktests). */
  configuredKey: ReadonlyMap<string, string>;
  runners: readonly EngineRunner[];
}

/**
 * One batch through every run of a pass: the per-tick loop, apart from runBacktests so that V8
 * optimises (and, at each first-time event that throws its optimised code away, optimises again)
 * this loop alone rather than the whole of runBacktests.
 *
 * Several runs take a batch a slice at a time (PASS_SLICE_TICKS), every run over a slice before
 * the next slice; each run still sees every tick in order, so its journal is unchanged. One run
 * takes the batch whole. The slice is a small integer either way: a slice of MAX_SAFE_INTEGER made
 * the bounds, and with them the loop's index, doubles (converted and checked on every tick: 970 →
 * 959 instructions per tick on the bench's cache, callgrind).
 */
function replay(pass: Pass, batch: TickBatch): void {
  const { time, bid, ask, market } = batch;
  const { tick, runners, names } = pass;
  let tickMarket = pass.tickMarket;
  const slice = runners.length > 1 ? PASS_SLICE_TICKS : Math.max(1, batch.length);
  for (let start = 0; start < batch.length; start += slice) {
    const end = Math.min(batch.length, start + slice);
    for (let r = 0; r < runners.length; r++) {
      const runner = runners[r] as EngineRunner;
      for (let i = start; i < end; i++) {
        tick.time = time[i] as number;
        tick.bid = bid[i] as number;
        tick.ask = ask[i] as number;
        const id = market[i] as number;
        if (id !== tickMarket) {
          tickMarket = id;
          const name = names[id] as string;
          tick.market = pass.configuredKey.get(name) ?? name;
        }
        runner.processTick(tick);
      }
    }
  }
  pass.tickMarket = tickMarket;
}

/**
 * Several backtests over the same ticks in one pass (a sweep worker's combinations, issue 4): the
 * ticks are read and decoded once, and each batch goes through every configuration's own engine,
 * simulated broker and journal in turn. The runs share nothing else, so each journal is the one
 * `runBacktest` writes for its configuration alone. They must read the same tick files with the
 * same options (files, format, window, markets); `outDir`s must differ. The first run's
 * `readerThread` and `onProgress` apply to the pass. Each result's `elapsedMs` is the whole pass's.
 */
export async function runBacktests(list: readonly BacktestOptions[]): Promise<BacktestResult[]> {
  const started = performance.now();
  const first = list[0];
  if (first === undefined) return [];
  const configured: { options: BacktestOptions; config: Config; markets: MarketConfig[] }[] = [];
  for (const options of list) {
    const config = options.config ?? (await loadConfig(options.configPath));
    configured.push({ options, config, markets: selectMarkets(config, options.markets) });
  }
  const markets = configured[0]!.markets;
  const key = tickInputKey(first, markets);
  if (configured.some((run) => tickInputKey(run.options, run.markets) !== key))
    throw new InvariantError('backtests run in one pass must read the same ticks of the same markets');
  if (new Set(list.map((options) => resolve(options.outDir))).size < list.length)
    throw new InvariantError('backtests run in one pass need an output directory each');

  const totalBytes = checkTickFiles(first.tickFiles);
  const readerThread = first.readerThread ?? readerThreadByDefault(first.tickFiles, totalBytes);
  const defaultMarket =
    first.markets?.length === 1 ? first.markets[0] : markets.length === 1 ? markets[0]?.market : undefined;
  // Built again for a second read of the ticks (consumeInTimeOrder): entry strategies keep state.
  const planRuns = async (): Promise<RunPlan[]> => {
    const plans: RunPlan[] = [];
    for (const { options, config, markets: runMarkets } of configured) {
      const entryWarnings: string[] = [];
      const log = (level: 'info' | 'warn', message: string) => {
        if (level === 'warn') entryWarnings.push(message);
      };
      plans.push({
        outDir: resolve(options.outDir),
        config,
        markets: runMarkets,
        entries: await buildEntries(runMarkets, { timezone: first.timezone, log }),
        entryWarnings,
      });
    }
    return plans;
  };
  let firstPlans: RunPlan[] | undefined = await planRuns();

  const readOptions: TickReadOptions = {
    files: [...first.tickFiles],
    format: first.format,
    defaultMarket,
    knownMarkets: new Set(markets.map((m) => m.market)),
    timezone: first.timezone,
    strict: first.strict,
    from: first.from,
    to: first.to,
    onProgress: first.onProgress,
  };
  // Opened before the journals: an input error here must leave nothing behind. Opened directly in
  // any case, so that options are checked now, before anything is written, on either path.
  const open = (timeOrder: 'check' | 'sorted'): TickSource => {
    const options: TickReadOptions = { ...readOptions, timeOrder };
    const direct = openAnyTickSource(options);
    return readerThread ? new ThreadedTickSource(options) : direct;
  };

  const { runs, count, firstTick, lastTick, stats } = await consumeInTimeOrder(open, async (source) => {
    const plans = firstPlans ?? (await planRuns());
    firstPlans = undefined;
    let count = 0;
    let firstTick: number | undefined;
    let lastTick: number | undefined;
    const runs: Run[] = [];
    try {
      // Inside the try: a run that cannot open its journal leaves none of the others' behind.
      for (const plan of plans) runs.push(openRun(plan));
      // One tick object for the whole pass: the engine copies what it keeps. Its market is set only
      // when it changes (storing a string into an object calls V8's write barrier, which does real
      // work while the collector marks), and to the configuration's own key for the market: V8 keeps
      // property keys internalized, so the broker's and the engine's per-tick `tick.market ===
      // lastName` compare pointers instead of calling a string compare. Measured on the bench's
      // ticks: 1,046 → 977 instructions per tick (callgrind); in wall time the difference is within
      // this VM's noise.
      const pass: Pass = {
        tick: { time: 0, market: '', bid: 0, ask: 0 },
        tickMarket: -1,
        names: source.markets,
        configuredKey: new Map(Object.keys(configured[0]!.config.markets).map((key) => [key, key])),
        runners: runs.map((run) => run.runner),
      };
      for await (const batch of source.batches()) {
        replay(pass, batch);
        if (batch.length > 0) {
          firstTick ??= batch.time[0];
          lastTick = batch.time[batch.length - 1];
          count += batch.length;
        }
      }
      for (const run of runs) await run.journal.close();
    } catch (error) {
      for (const run of runs) {
        await run.journal.close().catch(() => undefined);
        rmSync(run.tmpJournal, { force: true });
      }
      throw error;
    }
    return { runs, count, firstTick, lastTick, stats: source.stats() };
  });
  const deferCommit = first.deferCommit === true;
  if (!deferCommit) for (const run of runs) renameSync(run.tmpJournal, run.journalPath);

  const elapsedMs = performance.now() - started;
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
  return runs.map((run) => {
    const openPositions = summariseOpen(run.runner.engine.openPositions());
    const result: BacktestResult = {
      journalPath: run.journalPath,
      summaryPath: run.summaryPath,
      markets: run.markets.map((m) => m.market),
      ticks: {
        ticks: count,
        firstTick,
        lastTick,
        ignored: stats.ignored,
        skipped: stats.skipped,
        firstSkipped: stats.firstSkipped,
      },
      trades: run.summary.result(),
      openPositions,
      unrealisedAmount: round8(openPositions.reduce((sum, p) => sum + (p.pnlAmount ?? 0), 0)),
      alerts: [
        ...run.warnings.map((message) => ({ level: 'warn' as const, message })),
        ...unmatchedMarkets(run, stats.ignored).map((message) => ({ level: 'warn' as const, message })),
        ...cacheFlagWarnings(first).map((message) => ({ level: 'warn' as const, message })),
        ...epochUnitWarnings(firstTick, lastTick).map((message) => ({ level: 'warn' as const, message })),
        ...run.alerts.map((a) => ({ level: a.level, message: a.message })),
      ],
      elapsedMs,
      ticksPerSecond: elapsedMs > 0 ? (count / elapsedMs) * 1000 : 0,
      peakRssMb,
    };
    const tmpSummary = runTempFiles(dirname(run.summaryPath)).summary;
    writeFileSync(tmpSummary, `${JSON.stringify(result, null, 2)}\n`);
    if (!deferCommit) renameSync(tmpSummary, run.summaryPath);
    return result;
  });
}

/** --format and --timezone read text: a cache's tick times were fixed when it was imported. */
function cacheFlagWarnings(options: BacktestOptions): string[] {
  if (!options.tickFiles.every((file) => isTickCacheFile(file))) return [];
  return [
    ...(options.format !== 'standard'
      ? [
          `--format ${options.format} does not apply to tick caches: their ticks were read at import (give it to ticks import)`,
        ]
      : []),
    ...(options.timezone !== undefined
      ? [
          `--timezone ${options.timezone} does not apply to the ticks of a tick cache (their times were read at import: give it to ticks import); it still reads --from/--to and the signal times written without a zone`,
        ]
      : []),
  ];
}

/**
 * Tick times far outside any market's history: most likely epoch seconds or microseconds where
 * SPEC §9 reads epoch milliseconds (1704153600 is 20 January 1970 as milliseconds). Read as
 * SPEC says, and said.
 */
function epochUnitWarnings(firstTick: number | undefined, lastTick: number | undefined): string[] {
  const out: string[] = [];
  if (firstTick !== undefined && firstTick < EARLIEST_PLAUSIBLE)
    out.push(
      `the first tick is dated ${new Date(firstTick).toISOString()}, before 1990: are the file's epoch times in seconds? Epoch times are read as milliseconds (digits only)`,
    );
  if (lastTick !== undefined && lastTick > LATEST_PLAUSIBLE)
    out.push(
      `the last tick is dated ${new Date(lastTick).toISOString()}, after 2100: are the file's epoch times in microseconds? Epoch times are read as milliseconds (digits only)`,
    );
  return out;
}
const EARLIEST_PLAUSIBLE = Date.UTC(1990, 0, 1);
const LATEST_PLAUSIBLE = Date.UTC(2100, 0, 1);

/**
 * A configured market that saw no tick while ticks of markets not in the configuration were
 * ignored: most likely one name written two ways (an epic's case, a typo). SPEC §9 ignores such
 * ticks; this says so rather than report an empty backtest without a word.
 */
function unmatchedMarkets(run: Run, ignored: number): string[] {
  if (ignored === 0) return [];
  const seen = run.runner.engine.exportEntriesSeen();
  return run.markets
    .filter((m) => seen[m.market] === undefined)
    .map(
      (m) =>
        `${m.market}: no tick in the files, while ${ignored} ticks of markets not in the configuration were ignored (is the market id written the same way in both?)`,
    );
}
