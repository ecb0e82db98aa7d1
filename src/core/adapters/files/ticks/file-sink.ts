import { UserError } from '../../../domain/errors.js';
import type { SkipKind, SkippedRow } from '../../../ports/market-data.js';
import { isoOf } from './civil.js';
import type { Columns, TickFormat } from './columns.js';
import { isBlank, parsePrice, TimeParser } from './fields.js';
import { MarketLookup, type MarketRegistry } from './markets.js';
import type { ZoneResolver } from './zone.js';

/**
 * Delivered ticks of one file, in file order: checked, then inside [from, to) and of a
 * configured market. `market` holds public market indices (TickSource.markets).
 */
export interface FileBatch {
  length: number;
  time: Float64Array;
  bid: Float64Array;
  ask: Float64Array;
  market: Int32Array;
}

/** Counters shared by every file of one source. */
export interface SkipCounters {
  skipped: Record<SkipKind, number>;
  /** Good ticks of markets outside the configuration. */
  ignored: number;
}

/**
 * A file whose delivered ticks go back in time from one market to another (each market in order,
 * as SPEC §9 checks it): the files' ticks must then be sorted by time, file and line (SPEC §6.1,
 * docs/decisions.md 36), and a reader in `check` order throws this so that its consumer reads them
 * again in `sorted` order. Not an input error: the file is good.
 */
export class TicksNotInTimeOrder extends Error {
  override readonly name = 'TicksNotInTimeOrder';
}

export interface FileSinkOptions {
  file: string;
  format: TickFormat;
  strict: boolean;
  maxReported: number;
  capacity: number;
  registry: MarketRegistry;
  counters: SkipCounters;
  /** Internal id of the market for files without a market column, or -1. */
  defaultMarket: number;
  zone: ZoneResolver | undefined;
  /** Delivery window, epoch ms: [from, to). */
  from: number;
  to: number;
  /** Throw TicksNotInTimeOrder at a delivered tick earlier than the one delivered before it. */
  checkTimeOrder: boolean;
}

const MAX_QUOTED = 40;

function quoted(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

/**
 * The one place a row is judged (SPEC §6.1, §9 "Tick input"). Both reading paths hand it the
 * bytes of a row, already split into fields (`fieldStart`/`fieldEnd`), so they cannot disagree on
 * values, kinds, messages or order checks; the byte reader may instead call `accept` with values
 * it parsed itself, but only for shapes the general parsers read to the same values. Delivered
 * ticks are appended to columnar arrays that the reader hands on as a FileBatch and then reuses.
 */
export class FileSink implements FileBatch {
  length = 0;
  readonly time: Float64Array;
  readonly bid: Float64Array;
  readonly ask: Float64Array;
  readonly market: Int32Array;
  readonly capacity: number;
  /** Skipped rows of this file, the first `maxReported`. */
  readonly reported: SkippedRow[] = [];
  readonly file: string;

  fieldStart = new Int32Array(1);
  fieldEnd = new Int32Array(1);
  columns: Columns | undefined;
  /** Zone of times without an offset (set with the columns); undefined = UTC. */
  timeZone: ZoneResolver | undefined;

  private readonly options: FileSinkOptions;
  private readonly from: number;
  private readonly to: number;
  /** Internal market id → public index or -1 (grows as markets are met). */
  private readonly publicIndex: readonly number[];
  private readonly markets: MarketLookup;
  private timeParser: TimeParser;
  /** Per internal market id: time and line of the last accepted tick of this file. */
  private lastTime = new Float64Array(8).fill(-Infinity);
  private lastLine = new Float64Array(8);
  /** Time of the last delivered tick of this file, any market. */
  private lastDelivered = -Infinity;
  /** Columns csv-parse rows copy into `scratch`: time, bid, ask and market when there is one. */
  private neededColumns: readonly number[] = [];
  private scratch = Buffer.allocUnsafe(256);
  private scratchView = new Uint8Array(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length);

  constructor(options: FileSinkOptions) {
    this.options = options;
    this.from = options.from;
    this.to = options.to;
    this.publicIndex = options.registry.publicIndex;
    this.file = options.file;
    this.capacity = options.capacity;
    this.time = new Float64Array(options.capacity);
    this.bid = new Float64Array(options.capacity);
    this.ask = new Float64Array(options.capacity);
    this.market = new Int32Array(options.capacity);
    this.markets = new MarketLookup(options.registry);
    this.timeParser = new TimeParser('standard', undefined);
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  setColumns(columns: Columns): void {
    this.columns = columns;
    this.fieldStart = new Int32Array(Math.max(columns.count, 1));
    this.fieldEnd = new Int32Array(Math.max(columns.count, 1));
    this.timeZone = columns.timeIsUtc ? undefined : this.options.zone;
    this.timeParser = new TimeParser(this.options.format, this.timeZone);
    this.neededColumns = [columns.time, columns.bid, columns.ask, columns.market].filter((c) => c >= 0);
  }

  /** Internal id of the market of files without a market column, or -1. */
  get defaultMarket(): number {
    return this.options.defaultMarket;
  }

  /**
   * Judges one row whose `nFields` fields are delimited by `fieldStart`/`fieldEnd` in `buf`
   * (positions past the array length are not recorded, and are not needed: such a row has the
   * wrong number of fields).
   */
  row(buf: Uint8Array, line: number, nFields: number): void {
    const cols = this.columns!;
    if (nFields !== cols.count) {
      this.skip(line, 'malformed', `expected ${cols.count} fields, found ${nFields}`);
      return;
    }
    const fs = this.fieldStart;
    const fe = this.fieldEnd;
    let s = fs[cols.time]!;
    let e = fe[cols.time]!;
    const time = this.timeParser.parse(buf, s, e);
    if (Number.isNaN(time)) {
      this.badField(buf, line, 'time', s, e);
      return;
    }
    s = fs[cols.bid]!;
    e = fe[cols.bid]!;
    const bid = parsePrice(buf, s, e);
    if (Number.isNaN(bid)) {
      this.badField(buf, line, 'bid', s, e);
      return;
    }
    s = fs[cols.ask]!;
    e = fe[cols.ask]!;
    const ask = parsePrice(buf, s, e);
    if (Number.isNaN(ask)) {
      this.badField(buf, line, 'ask', s, e);
      return;
    }
    let market = this.options.defaultMarket;
    if (cols.market >= 0) {
      market = this.markets.lookup(buf, fs[cols.market]!, fe[cols.market]!);
      if (market < 0) {
        this.skip(line, 'malformed', 'empty market field');
        return;
      }
    }
    this.accept(line, time, bid, ask, market);
  }

  /** Internal id of a market field's bytes, or -1 when blank. */
  lookupMarket(buf: Uint8Array, start: number, end: number): number {
    return this.markets.lookup(buf, start, end);
  }

  /** The name the latest market lookup matched, and its internal id (see MarketLookup.lastBytes). */
  get lastMarketBytes(): Uint8Array | undefined {
    return this.markets.lastBytes;
  }

  get lastMarketWords(): Int32Array | undefined {
    return this.markets.lastWords;
  }

  get lastMarketId(): number {
    return this.markets.lastId;
  }

  /** The checks on a well-formed row's values (non-positive, crossed, order), then append. */
  accept(line: number, time: number, bid: number, ask: number, market: number): void {
    if (!(bid > 0 && ask > 0)) {
      this.skip(line, 'nonPositive', `non-positive price (bid ${bid}, ask ${ask})`);
      return;
    }
    if (bid > ask) {
      this.skip(line, 'crossed', `crossed quote (bid ${bid} > ask ${ask})`);
      return;
    }
    if (market >= this.lastTime.length) this.growMarkets(market);
    const previous = this.lastTime[market]!;
    if (time < previous) {
      this.skip(
        line,
        'outOfOrder',
        `time ${isoOf(time)} is earlier than the previous ${this.options.registry.nameOf(market)} tick at line ${this.lastLine[market]} (${isoOf(previous)})`,
      );
      return;
    }
    this.lastTime[market] = time;
    this.lastLine[market] = line;
    // The row is good; whether it is delivered is the window's and the configuration's business.
    if (time < this.from || time >= this.to) return;
    const publicMarket = this.publicIndex[market]!;
    if (publicMarket < 0) {
      this.options.counters.ignored++;
      return;
    }
    if (time < this.lastDelivered && this.options.checkTimeOrder) {
      throw new TicksNotInTimeOrder(
        `${this.file}:${line}: ticks of several markets interleave out of time order (${isoOf(time)} after ${isoOf(this.lastDelivered)})`,
      );
    }
    this.lastDelivered = time;
    const k = this.length;
    this.time[k] = time;
    this.bid[k] = bid;
    this.ask[k] = ask;
    this.market[k] = publicMarket;
    this.length = k + 1;
  }

  /** The same judgement for a row csv-parse has split: the needed fields are copied into bytes. */
  rowFromStrings(fields: readonly string[], line: number): void {
    const cols = this.columns!;
    if (fields.length === cols.count) {
      const columns = this.neededColumns;
      let needed = 0;
      for (const c of columns) needed += fields[c]!.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
      if (needed > this.scratch.length) {
        this.scratch = Buffer.allocUnsafe(needed * 2);
        this.scratchView = new Uint8Array(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length);
      }
      let offset = 0;
      for (const c of columns) {
        this.fieldStart[c] = offset;
        offset += this.scratch.write(fields[c]!, offset, 'utf8');
        this.fieldEnd[c] = offset;
      }
    }
    this.row(this.scratchView, line, fields.length);
  }

  /** Records a skipped row, or in strict mode stops the read. */
  skip(line: number, kind: SkipKind, message: string): void {
    if (this.options.strict) {
      throw new UserError(
        `${this.file}, line ${line}: ${message}`,
        'fix or delete that row, or run without --strict to skip bad rows and count them',
      );
    }
    this.options.counters.skipped[kind]++;
    if (this.reported.length < this.options.maxReported) this.reported.push({ file: this.file, line, kind, message });
  }

  private badField(buf: Uint8Array, line: number, name: string, s: number, e: number): void {
    const text = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
    const message = isBlank(buf, s, e) ? `empty ${name} field` : `unparsable ${name} ${quoted(text)}`;
    this.skip(line, 'malformed', message);
  }

  private growMarkets(market: number): void {
    const size = Math.max(market + 1, this.lastTime.length * 2);
    const time = new Float64Array(size).fill(-Infinity);
    time.set(this.lastTime);
    const line = new Float64Array(size);
    line.set(this.lastLine);
    this.lastTime = time;
    this.lastLine = line;
  }
}
