/**
 * `ticks import` and `ticks info` (issue 4): tick files of any supported format into the binary
 * tick cache, and what a tick file holds.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  isTickCacheFile,
  openAnyTickSource,
  TickCacheFile,
  TickCacheWriter,
  type MarketSummary,
} from '../adapters/files/tick-cache/index.js';
import { TickStatsBuilder, type MarketTickStats } from '../adapters/files/tick-cache/stats.js';
import { checkTickFiles } from '../adapters/files/ticks/chunks.js';
import { consumeInTimeOrder, type TickReadOptions } from '../adapters/files/ticks/index.js';
import { UserError } from '../domain/errors.js';
import type { ReadStats, TickSource } from '../ports/market-data.js';
import type { TickFormat } from './backtest.js';

export interface TicksImportOptions {
  files: readonly string[];
  out: string;
  format: TickFormat;
  /** Market of files without a market column. */
  market?: string | undefined;
  timezone?: string | undefined;
  strict: boolean;
  /** Ticks per block (tests use small blocks). */
  blockTicks?: number | undefined;
  onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
}

export interface TicksImportResult {
  out: string;
  bytes: number;
  inputBytes: number;
  ticks: number;
  blocks: number;
  firstTick: number | undefined;
  lastTick: number | undefined;
  markets: MarketSummary[];
  skipped: ReadStats['skipped'];
  firstSkipped: ReadStats['firstSkipped'];
  elapsedMs: number;
  ticksPerSecond: number;
}

/**
 * Reads tick files through the same readers as `backtest` (so rows are validated, skipped and
 * counted exactly as a backtest of the files would) and writes the ticks, in the order a backtest
 * would see them, to a tick cache. The skipped-row counts travel in the cache's metadata.
 */
export async function importTicks(options: TicksImportOptions): Promise<TicksImportResult> {
  const started = performance.now();
  const inputBytes = checkTickFiles(options.files);
  const out = resolve(options.out);
  if (options.files.some((file) => resolve(file) === out)) {
    throw new UserError(`--out ${options.out} is one of the input files`, 'write the cache to a new file');
  }
  const { written, stats } = await consumeInTimeOrder(inReplayOrder(options), async (source) => {
    const writer = new TickCacheWriter(out, { blockTicks: options.blockTicks });
    try {
      for await (const batch of source.batches()) writer.append(batch);
      const stats = source.stats();
      const written = writer.finish({
        markets: [...source.markets],
        sources: options.files.map((file) => ({ file, bytes: statSync(file).size })),
        format: options.format,
        timezone: options.timezone,
        defaultMarket: options.market,
        skipped: stats.skipped,
        firstSkipped: stats.firstSkipped,
      });
      return { written, stats };
    } catch (error) {
      writer.abort();
      throw error;
    }
  });
  const elapsedMs = performance.now() - started;
  return {
    out,
    bytes: written.bytes,
    inputBytes,
    ticks: written.ticks,
    blocks: written.blocks,
    firstTick: written.minTime,
    lastTick: written.maxTime,
    markets: written.markets,
    skipped: stats.skipped,
    firstSkipped: stats.firstSkipped,
    elapsedMs,
    ticksPerSecond: elapsedMs > 0 ? (written.ticks / elapsedMs) * 1000 : 0,
  };
}

export interface TicksInfoOptions {
  files: readonly string[];
  format: TickFormat;
  market?: string | undefined;
  timezone?: string | undefined;
  /** How many of the largest gaps to list per market. */
  gaps: number;
}

export interface TicksInfoResult {
  files: { file: string; bytes: number }[];
  kind: 'cache' | 'text';
  /** Tick cache details (one cache file). */
  cache?:
    | {
        version: number;
        blocks: number;
        bytesPerTick: number | undefined;
        timeOrdered: boolean;
        /** Every block's checksum and the payload checksum were verified by reading the file. */
        checksums: 'verified';
        sources: { file: string; bytes: number }[];
        format: string;
      }
    | undefined;
  ticks: number;
  firstTick: number | undefined;
  lastTick: number | undefined;
  markets: MarketTickStats[];
  /** Rows skipped by the text readers (at import, for a cache). */
  skipped: ReadStats['skipped'];
  firstSkipped: ReadStats['firstSkipped'];
}

/**
 * Opens the files for consumeInTimeOrder: in the order a backtest replays their ticks
 * (docs/decisions.md 36), for `ticks import` and `ticks info` alike.
 */
function inReplayOrder(options: {
  files: readonly string[];
  format: TickReadOptions['format'];
  market?: string | undefined;
  timezone?: string | undefined;
  strict: boolean;
  onProgress?: TickReadOptions['onProgress'];
}): (timeOrder: 'check' | 'sorted') => TickSource {
  return (timeOrder) =>
    openAnyTickSource({
      files: [...options.files],
      format: options.format,
      defaultMarket: options.market,
      knownMarkets: undefined,
      timezone: options.timezone,
      strict: options.strict,
      onProgress: options.onProgress,
      timeOrder,
    });
}

/** Reads tick files (caches verified block by block) and reports what they hold. */
export async function describeTicks(options: TicksInfoOptions): Promise<TicksInfoResult> {
  checkTickFiles(options.files);
  if (!Number.isInteger(options.gaps) || options.gaps < 0)
    throw new UserError(`--gaps must be a whole number ≥ 0, got ${options.gaps}`);
  // Files whose markets interleave out of time order are read again sorted, or the gaps would be phantoms.
  const { source, builder } = await consumeInTimeOrder(inReplayOrder({ ...options, strict: false }), async (source) => {
    const builder = new TickStatsBuilder(options.gaps);
    for await (const batch of source.batches()) builder.add(batch);
    return { source, builder };
  });
  // Only markets with ticks: a name met on a row that was then skipped has nothing to describe.
  const markets = builder.result(source.markets).filter((m) => m.ticks > 0);
  const stats = source.stats();
  const ticks = markets.reduce((sum, m) => sum + m.ticks, 0);
  const firsts = markets.flatMap((m) => (m.firstTime === undefined ? [] : [m.firstTime]));
  const lasts = markets.flatMap((m) => (m.lastTime === undefined ? [] : [m.lastTime]));
  const result: TicksInfoResult = {
    files: options.files.map((file) => ({ file, bytes: statSync(file).size })),
    kind: options.files.every((file) => isTickCacheFile(file)) ? 'cache' : 'text',
    ticks,
    firstTick: firsts.length > 0 ? Math.min(...firsts) : undefined,
    lastTick: lasts.length > 0 ? Math.max(...lasts) : undefined,
    markets,
    skipped: stats.skipped,
    firstSkipped: stats.firstSkipped,
  };
  if (result.kind === 'cache' && options.files.length === 1) {
    const file = TickCacheFile.open(options.files[0]!);
    try {
      result.cache = {
        version: file.header.version,
        blocks: file.header.blockCount,
        bytesPerTick: ticks > 0 ? file.size / ticks : undefined,
        timeOrdered: file.timeOrdered,
        checksums: 'verified',
        sources: file.meta.sources,
        format: file.meta.format,
      };
    } finally {
      file.close();
    }
  }
  return result;
}
