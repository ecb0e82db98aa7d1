import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { isTickCacheFile, openAnyTickSource } from '../adapters/files/tick-cache/index.js';
import { ThreadedTickSource } from '../adapters/files/tick-thread/source.js';
import type { TickReadOptions } from '../adapters/files/ticks/index.js';
import { CsvJournal } from '../adapters/files/journal-csv.js';
import { SimBroker } from '../adapters/sim/sim-broker.js';
import { loadConfig, selectMarkets } from '../config/load.js';
import type { Config } from '../domain/config.js';
import type { AlertAction } from '../domain/events.js';
import { UserError } from '../domain/errors.js';
import type { Tick } from '../domain/types.js';
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
   * holding more than READER_THREAD_MIN_BYTES on a machine with two cores or more (below that,
   * starting a thread costs more than it saves; a tick cache decodes in a tenth of the engine's
   * time, and measured slower with the thread). A sweep turns it off: its workers use every core.
   */
  readerThread?: boolean | undefined;
}

/** Tick files smaller than this (in all) are read on the engine's thread by default. */
export const READER_THREAD_MIN_BYTES = 16 * 1024 * 1024;

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
  const started = performance.now();
  const config = options.config ?? (await loadConfig(options.configPath));
  const markets = selectMarkets(config, options.markets);
  let totalBytes = 0;
  for (const file of options.tickFiles) {
    const info = existsSync(file) ? statSync(file) : undefined;
    if (info === undefined || !info.isFile()) throw new UserError(`tick file not found: ${file}`);
    totalBytes += info.size;
  }
  const readerThread =
    options.readerThread ??
    (availableParallelism() > 1 &&
      totalBytes > READER_THREAD_MIN_BYTES &&
      !options.tickFiles.some((file) => isTickCacheFile(file)));
  const defaultMarket =
    options.markets?.length === 1 ? options.markets[0] : markets.length === 1 ? markets[0]?.market : undefined;
  const entries = await buildEntries(markets);

  // Opened before the journal: an input error here must leave nothing behind.
  const readOptions: TickReadOptions = {
    files: [...options.tickFiles],
    format: options.format,
    defaultMarket,
    knownMarkets: new Set(markets.map((m) => m.market)),
    timezone: options.timezone,
    strict: options.strict,
    from: options.from,
    to: options.to,
    onProgress: options.onProgress,
  };
  // Opened here in any case: options are checked now, before anything is written, on either path.
  const direct = openAnyTickSource(readOptions);
  const source = readerThread ? new ThreadedTickSource(readOptions) : direct;

  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const journalPath = join(outDir, 'trade_history.csv');
  const summaryPath = join(outDir, 'summary.json');
  const tmpJournal = join(outDir, `.trade_history.csv.${process.pid}.tmp`);
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

  let count = 0;
  let firstTick: number | undefined;
  let lastTick: number | undefined;
  try {
    // One tick object for the whole run: the engine copies what it keeps.
    const tick: Tick = { time: 0, market: '', bid: 0, ask: 0 };
    const names = source.markets;
    for await (const batch of source.batches()) {
      const { time, bid, ask, market } = batch;
      for (let i = 0; i < batch.length; i++) {
        tick.time = time[i] as number;
        tick.bid = bid[i] as number;
        tick.ask = ask[i] as number;
        tick.market = names[market[i] as number] as string;
        runner.processTick(tick);
      }
      if (batch.length > 0) {
        firstTick ??= time[0];
        lastTick = time[batch.length - 1];
        count += batch.length;
      }
    }
    await journal.close();
  } catch (error) {
    await journal.close().catch(() => undefined);
    rmSync(tmpJournal, { force: true });
    throw error;
  }
  renameSync(tmpJournal, journalPath);

  const stats = source.stats();
  const openPositions = summariseOpen(runner.engine.openPositions());
  const elapsedMs = performance.now() - started;
  const result: BacktestResult = {
    journalPath,
    summaryPath,
    markets: markets.map((m) => m.market),
    ticks: {
      ticks: count,
      firstTick,
      lastTick,
      ignored: stats.ignored,
      skipped: stats.skipped,
      firstSkipped: stats.firstSkipped,
    },
    trades: summary.result(),
    openPositions,
    unrealisedAmount: openPositions.reduce((sum, p) => sum + (p.pnlAmount ?? 0), 0),
    alerts: alerts.map((a) => ({ level: a.level, message: a.message })),
    elapsedMs,
    ticksPerSecond: elapsedMs > 0 ? (count / elapsedMs) * 1000 : 0,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
  };
  const tmpSummary = `${summaryPath}.${process.pid}.tmp`;
  writeFileSync(tmpSummary, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(tmpSummary, summaryPath);
  return result;
}
