/**
 * Tick file readers for `backtest` (SPEC §6.1, §9 "Tick input").
 *
 * Formats (`--format`):
 * - `standard`: CSV with a header. Columns `time` (or `timestamp`), `bid`, `ask`, optional
 *   `market` (or `epic`); names trimmed and case-insensitive, other columns ignored. Times are
 *   ISO-8601 (`2024-01-02T08:00:00.123Z`, `+01:00` / `+0100` / `+01` offsets, `T` or space,
 *   optional seconds and fraction; without a zone = UTC, or `timezone` when given, DST-correct)
 *   or epoch milliseconds (digits only). Without a market column every row is `defaultMarket`.
 * - `histdata`: HistData.com "Generic ASCII" tick files, no header, rows
 *   `20240102 170000123,1.103800,1.103900,0` = `YYYYMMDD HHMMSSmmm,bid,ask,volume`. Times are
 *   "Eastern Standard Time (EST) time-zone WITHOUT Day Light Savings adjustments", i.e. UTC−5
 *   all year (HistData's data specification, as reproduced in
 *   https://github.com/dmidlo/histdata.com-tools/blob/main/histdata.com_data_specs.md).
 * - `dukascopy`: Dukascopy historical-data / JForex CSV exports, header
 *   `Gmt time,Ask,Bid,AskVolume,BidVolume` (or `Time (UTC),…`, `Local time,…`) — Ask comes
 *   before Bid, columns are found by name. Times `02.01.2024 00:00:00.123`, optionally followed
 *   by ` GMT+0100` (local-time exports), or `2024.01.02 00:00:00`; `Gmt time` / `Time (UTC)`
 *   are UTC whatever `timezone` says.
 * HistData and Dukascopy files carry no market: their ticks are `defaultMarket`'s.
 *
 * Every format: `.gz` files are gunzipped while streaming; blank lines are ignored but counted
 * for line numbers (the header is line 1); CRLF is fine. A row that is malformed (wrong number
 * of fields, empty or unparsable time/bid/ask/market), crossed (bid > ask), non-positive, or
 * earlier than the previous accepted tick of its market in the same file is skipped and counted;
 * `strict` throws a UserError at the first one instead. Files are merged by time (ties: files
 * order, then line order); then `from`/`to` and `knownMarkets` filter what is delivered.
 *
 * Two paths read the same way: a byte-level reader for `standard` files (no string per field,
 * 1 MiB chunks, columnar batches), and csv-parse for the other formats and for any standard file
 * from its first line with a quote on. Both feed one row checker (FileSink), so values, skip
 * kinds, line numbers and messages are identical.
 */
import { UserError } from '../../../domain/errors.js';
import type { TickSource } from '../../../ports/market-data.js';
import { CHUNK_SIZE } from './chunks.js';
import { TicksNotInTimeOrder } from './file-sink.js';
import { MarketRegistry } from './markets.js';
import { FileTickSource } from './source.js';
import { ZoneResolver } from './zone.js';

export type { TickFormat } from './columns.js';
export { TicksNotInTimeOrder };

export interface TickReadOptions {
  files: string[];
  format: 'standard' | 'histdata' | 'dukascopy';
  /** Market used for files without a market/epic column (the caller resolves --market or the only configured market). */
  defaultMarket?: string | undefined;
  /** Markets in the configuration; ticks of other markets are counted in stats.ignored and not delivered. Undefined = accept all. */
  knownMarkets?: ReadonlySet<string> | undefined;
  /** IANA zone for ISO times without a zone (SPEC §9: UTC unless --timezone says otherwise). */
  timezone?: string | undefined;
  strict: boolean;
  /** Epoch ms, inclusive; ticks before are dropped silently (not skipped). */
  from?: number | undefined;
  /** Epoch ms, exclusive. */
  to?: number | undefined;
  /** How many skipped rows to keep in firstSkipped (default 10). */
  maxReported?: number | undefined;
  /** Default 4096 ticks. */
  batchSize?: number | undefined;
  /** Bytes of the (compressed) files read so far. */
  onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
  /**
   * The order of the ticks of several markets (SPEC §6.1, §9; docs/decisions.md 36):
   * - `as-read` (default): each file in line order, the files merged head to head by time;
   * - `check`: the same, but a file whose ticks go back in time from one market to another throws
   *   TicksNotInTimeOrder (without it, `as-read` is already sorted by time, file and line);
   * - `sorted`: every tick read first, then sorted by time, file and line (memory grows with the
   *   files: what a `check` read falls back to).
   */
  timeOrder?: 'as-read' | 'check' | 'sorted' | undefined;
  /**
   * @internal Force the csv-parse path for standard files (tests compare both paths).
   * Default `fast`.
   */
  engine?: 'fast' | 'csv' | undefined;
  /** @internal Bytes per read (default 1 MiB); tests use tiny chunks so lines straddle them. */
  chunkSize?: number | undefined;
}

export const DEFAULT_BATCH_SIZE = 4096;
export const DEFAULT_MAX_REPORTED = 10;

/**
 * Opens the files lazily: nothing is read (and missing files are not reported) until
 * `batches()` is iterated. Errors of input are UserErrors naming the file.
 */
export function openTickSource(options: TickReadOptions): TickSource {
  if (options.files.length === 0) throw new UserError('no tick files given', 'pass one or more tick files');
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
  const maxReported = options.maxReported ?? DEFAULT_MAX_REPORTED;
  if (!Number.isInteger(maxReported) || maxReported < 0)
    throw new UserError(`maxReported must be a non-negative integer, got ${maxReported}`);
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  if (Number.isNaN(from) || Number.isNaN(to)) throw new UserError('the --from/--to times are not valid times');
  const registry = new MarketRegistry(options.knownMarkets);
  const defaultMarket =
    options.defaultMarket === undefined || options.defaultMarket === '' ? -1 : registry.intern(options.defaultMarket);
  if (options.format !== 'standard' && defaultMarket < 0) {
    throw new UserError(
      `${options.format} tick files have no market column, and no single market to read them as`,
      'pass one --market, or a --config with exactly one market',
    );
  }
  return new FileTickSource({
    files: [...options.files],
    format: options.format,
    engine: options.engine ?? 'fast',
    registry,
    defaultMarket,
    zone: options.timezone === undefined ? undefined : new ZoneResolver(options.timezone),
    strict: options.strict,
    from,
    to,
    maxReported,
    batchSize,
    onProgress: options.onProgress,
    chunkSize: options.chunkSize ?? CHUNK_SIZE,
    timeOrder: options.timeOrder ?? 'as-read',
  });
}

/**
 * Reads ticks in the one order of SPEC §6.1 and §9: time, then the files' order, then line order
 * (docs/decisions.md 36). `consume` gets a source in `check` order, which streams files that are
 * in time order; when a file goes back in time from one market to another, `consume` starts again
 * from the beginning with a source in `sorted` order. `consume` must leave nothing behind when it
 * throws. A tick cache is in that order already and never throws TicksNotInTimeOrder.
 */
export async function consumeInTimeOrder<T>(
  open: (timeOrder: 'check' | 'sorted') => TickSource,
  consume: (source: TickSource) => Promise<T>,
): Promise<T> {
  const checked = open('check');
  try {
    return await consume(checked);
  } catch (error) {
    if (!(error instanceof TicksNotInTimeOrder)) throw error;
  }
  return consume(open('sorted'));
}
