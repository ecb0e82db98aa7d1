import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InvariantError, UserError } from '../../../domain/errors.js';
import type { TickBatch } from '../../../ports/market-data.js';
import {
  BLOCK_HEADER_BYTES,
  bodyBytesOf,
  checksum,
  DEFAULT_BLOCK_TICKS,
  FILE_HEADER_BYTES,
  FLAG_TIME_ORDERED,
  FORMAT_VERSION,
  MarketEncoding,
  MAX_BLOCK_TICKS,
  MAX_DECIMALS,
  pad8,
  POW10,
  PriceEncoding,
  TimeEncoding,
  writeBlockHeader,
  writeFileHeader,
  B,
  type CacheMetadata,
  type MarketSummary,
} from './format.js';

const INT32_MAX = 0x7fffffff;

export interface WrittenCache {
  path: string;
  bytes: number;
  ticks: number;
  blocks: number;
  minTime: number | undefined;
  maxTime: number | undefined;
  timeOrdered: boolean;
  markets: MarketSummary[];
}

/**
 * Writes a tick cache in one pass with flat memory: ticks are gathered into one block's columns,
 * encoded and written when the block is full. The file is built under a temporary name and
 * renamed into place by `finish()`, so an interrupted import never leaves a file that looks
 * complete. Market ids of the batches index the list given to `finish()`; the cache's own
 * dictionary holds only the markets that have ticks, in order of their first tick.
 */
export class TickCacheWriter {
  private fd: number | undefined;
  private readonly tmpPath: string;
  private readonly blockTicks: number;
  private readonly time: Float64Array;
  private readonly bid: Float64Array;
  private readonly ask: Float64Array;
  private readonly market: Int32Array;
  private n = 0;
  private readonly block: ArrayBuffer;
  private readonly blockBytes: Uint8Array;
  private readonly crcScratch = new DataView(new ArrayBuffer(4));
  private offset = FILE_HEADER_BYTES;
  private blocks = 0;
  private ticks = 0;
  private crcOfCrcs = 0;
  private minTime = Infinity;
  private maxTime = -Infinity;
  private previousTime = -Infinity;
  private timeOrdered = true;
  private perMarket: { ticks: number; first: number; last: number }[] = [];
  /** Caller's market id → dictionary id (-1: not seen yet). */
  private idMap = new Int32Array(16).fill(-1);
  /** Dictionary id → caller's market id. */
  private readonly callerIds: number[] = [];

  constructor(
    readonly path: string,
    options: { blockTicks?: number | undefined } = {},
  ) {
    this.blockTicks = options.blockTicks ?? DEFAULT_BLOCK_TICKS;
    if (!Number.isInteger(this.blockTicks) || this.blockTicks < 1 || this.blockTicks > MAX_BLOCK_TICKS) {
      throw new InvariantError(`block size ${this.blockTicks} out of range`);
    }
    this.time = new Float64Array(this.blockTicks);
    this.bid = new Float64Array(this.blockTicks);
    this.ask = new Float64Array(this.blockTicks);
    this.market = new Int32Array(this.blockTicks);
    this.block = new ArrayBuffer(
      BLOCK_HEADER_BYTES +
        bodyBytesOf(this.blockTicks, TimeEncoding.Float64, PriceEncoding.Float64, MarketEncoding.Int32),
    );
    this.blockBytes = new Uint8Array(this.block);
    this.tmpPath = cacheTempPath(path);
    try {
      this.fd = openSync(this.tmpPath, 'w', 0o644);
      // The real header is written last, when the counts are known.
      writeSync(this.fd, new Uint8Array(FILE_HEADER_BYTES), 0, FILE_HEADER_BYTES, 0);
    } catch (error) {
      throw new UserError(
        `cannot write ${path}: ${(error as Error).message}`,
        'check that the directory exists and is writable',
      );
    }
  }

  /** Appends a batch's ticks; `batch.market` are market ids. */
  append(batch: TickBatch): void {
    let i = 0;
    while (i < batch.length) {
      const take = Math.min(batch.length - i, this.blockTicks - this.n);
      this.time.set(batch.time.subarray(i, i + take), this.n);
      this.bid.set(batch.bid.subarray(i, i + take), this.n);
      this.ask.set(batch.ask.subarray(i, i + take), this.n);
      const ids = batch.market;
      const market = this.market;
      for (let j = 0; j < take; j++) market[this.n + j] = this.dictionaryId(ids[i + j]!);
      this.n += take;
      i += take;
      if (this.n === this.blockTicks) this.writeBlock();
    }
  }

  /**
   * Writes the last block, the metadata and the header, and moves the file into place.
   * `meta.markets` names the market ids of the batches.
   */
  finish(meta: Omit<CacheMetadata, 'perMarket'>): WrittenCache {
    const fd = this.requireOpen();
    if (this.n > 0) this.writeBlock();
    const markets = this.callerIds.map((id) => {
      const name = meta.markets[id];
      if (name === undefined) throw new InvariantError(`market id ${id} outside the market list`);
      return name;
    });
    const perMarket: MarketSummary[] = markets.map((market, id) => {
      const m = this.perMarket[id]!;
      return { market, ticks: m.ticks, firstTime: m.first, lastTime: m.last };
    });
    const metaBytes = Buffer.from(JSON.stringify({ ...meta, markets, perMarket } satisfies CacheMetadata), 'utf8');
    const metaOffset = this.offset;
    this.writeAll(metaBytes, metaBytes.length);
    const header = new DataView(new ArrayBuffer(FILE_HEADER_BYTES));
    writeFileHeader(header, {
      version: FORMAT_VERSION,
      flags: this.timeOrdered ? FLAG_TIME_ORDERED : 0,
      tickCount: this.ticks,
      blockCount: this.blocks,
      blockTicks: this.blockTicks,
      minTime: this.ticks > 0 ? this.minTime : Number.NaN,
      maxTime: this.ticks > 0 ? this.maxTime : Number.NaN,
      metaOffset,
      metaLength: metaBytes.length,
      metaCrc: checksum(metaBytes),
      payloadCrc: this.crcOfCrcs,
      marketCount: markets.length,
    });
    try {
      writeSync(fd, new Uint8Array(header.buffer), 0, FILE_HEADER_BYTES, 0);
      fsyncSync(fd);
      closeSync(fd);
      this.fd = undefined;
      renameSync(this.tmpPath, this.path);
    } catch (error) {
      this.abort();
      throw new UserError(`cannot write ${this.path}: ${(error as Error).message}`);
    }
    return {
      path: this.path,
      bytes: this.offset,
      ticks: this.ticks,
      blocks: this.blocks,
      minTime: this.ticks > 0 ? this.minTime : undefined,
      maxTime: this.ticks > 0 ? this.maxTime : undefined,
      timeOrdered: this.timeOrdered,
      markets: perMarket,
    };
  }

  /** Drops the temporary file (after a failed import). */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed or never opened: nothing left to release
      }
      this.fd = undefined;
    }
    rmSync(this.tmpPath, { force: true });
  }

  private dictionaryId(callerId: number): number {
    if (!(callerId >= 0)) throw new InvariantError(`bad market id ${callerId}`);
    if (callerId >= this.idMap.length) {
      const grown = new Int32Array(Math.max(callerId + 1, this.idMap.length * 2)).fill(-1);
      grown.set(this.idMap);
      this.idMap = grown;
    }
    let id = this.idMap[callerId]!;
    if (id < 0) {
      id = this.callerIds.length;
      this.callerIds.push(callerId);
      this.idMap[callerId] = id;
    }
    return id;
  }

  private requireOpen(): number {
    if (this.fd === undefined) throw new InvariantError(`tick cache ${this.path} is already finished`);
    return this.fd;
  }

  private writeBlock(): void {
    const n = this.n;
    const { time, bid, ask, market } = this;

    let minTime = Infinity;
    let maxTime = -Infinity;
    let previous = this.previousTime;
    let ordered = this.timeOrdered;
    for (let i = 0; i < n; i++) {
      const t = time[i]!;
      if (t < minTime) minTime = t;
      if (t > maxTime) maxTime = t;
      if (t < previous) ordered = false;
      previous = t;
    }
    this.previousTime = previous;
    this.timeOrdered = ordered;

    let timeEncoding: TimeEncoding = TimeEncoding.Delta32;
    if (!(maxTime - minTime <= INT32_MAX)) timeEncoding = TimeEncoding.Float64;
    else {
      for (let i = 0; i < n; i++) {
        const d = time[i]! - minTime;
        // Fractional milliseconds (or a time too far from the block's minimum) need float64.
        if (!Number.isInteger(d) || minTime + d !== time[i]) {
          timeEncoding = TimeEncoding.Float64;
          break;
        }
      }
    }

    const decimals = priceDecimals(bid, ask, n);
    const priceEncoding: PriceEncoding = decimals < 0 ? PriceEncoding.Float64 : PriceEncoding.Scaled32;

    const first = market[0]!;
    let maxId = first;
    let constant = true;
    for (let i = 0; i < n; i++) {
      const m = market[i]!;
      if (m !== first) constant = false;
      if (m > maxId) maxId = m;
      let s = this.perMarket[m];
      if (s === undefined) {
        // Dictionary ids are given in order of first tick: this is the next one.
        s = { ticks: 0, first: time[i]!, last: time[i]! };
        this.perMarket[m] = s;
      }
      s.ticks++;
      s.last = time[i]!;
    }
    const marketEncoding: MarketEncoding = constant
      ? MarketEncoding.Constant
      : maxId <= 0xff
        ? MarketEncoding.Uint8
        : maxId <= 0xffff
          ? MarketEncoding.Uint16
          : MarketEncoding.Int32;

    const bodyBytes = bodyBytesOf(n, timeEncoding, priceEncoding, marketEncoding);
    const buf = this.block;
    let at = BLOCK_HEADER_BYTES;
    if (timeEncoding === TimeEncoding.Delta32) {
      const col = new Int32Array(buf, at, n);
      for (let i = 0; i < n; i++) col[i] = time[i]! - minTime;
      at += pad8(n * 4);
    } else {
      new Float64Array(buf, at, n).set(time.subarray(0, n));
      at += pad8(n * 8);
    }
    for (const prices of [bid, ask]) {
      if (priceEncoding === PriceEncoding.Scaled32) {
        const scale = POW10[decimals]!;
        const col = new Int32Array(buf, at, n);
        for (let i = 0; i < n; i++) col[i] = Math.round(prices[i]! * scale);
        at += pad8(n * 4);
      } else {
        new Float64Array(buf, at, n).set(prices.subarray(0, n));
        at += pad8(n * 8);
      }
    }
    switch (marketEncoding) {
      case MarketEncoding.Constant:
        break;
      case MarketEncoding.Uint8:
        new Uint8Array(buf, at, n).set(market.subarray(0, n));
        at += pad8(n);
        break;
      case MarketEncoding.Uint16:
        new Uint16Array(buf, at, n).set(market.subarray(0, n));
        at += pad8(n * 2);
        break;
      case MarketEncoding.Int32:
        new Int32Array(buf, at, n).set(market.subarray(0, n));
        at += pad8(n * 4);
        break;
      default: {
        const exhaustive: never = marketEncoding;
        throw new InvariantError(`unknown market encoding ${String(exhaustive)}`);
      }
    }
    if (at - BLOCK_HEADER_BYTES !== bodyBytes) throw new InvariantError('block size mismatch');

    const header = new DataView(buf, 0, BLOCK_HEADER_BYTES);
    writeBlockHeader(header, {
      count: n,
      bodyBytes,
      timeEncoding,
      priceEncoding,
      marketEncoding,
      decimals: Math.max(decimals, 0),
      minTime,
      maxTime,
      constMarket: constant ? first : 0,
    });
    const crc = checksum(
      this.blockBytes.subarray(BLOCK_HEADER_BYTES, at),
      checksum(this.blockBytes.subarray(0, B.crc)),
    );
    header.setUint32(B.crc, crc, true);
    this.crcScratch.setUint32(0, crc, true);
    this.crcOfCrcs = checksum(new Uint8Array(this.crcScratch.buffer), this.crcOfCrcs);

    this.writeAll(this.blockBytes, at);
    if (minTime < this.minTime) this.minTime = minTime;
    if (maxTime > this.maxTime) this.maxTime = maxTime;
    this.blocks++;
    this.ticks += n;
    this.n = 0;
  }

  private writeAll(bytes: Uint8Array, length: number): void {
    const fd = this.requireOpen();
    let done = 0;
    try {
      while (done < length) done += writeSync(fd, bytes, done, length - done, this.offset + done);
    } catch (error) {
      this.abort();
      throw new UserError(`cannot write ${this.path}: ${(error as Error).message}`);
    }
    this.offset += length;
  }
}

/**
 * The fewest decimals d (0…9) at which every price of the block is n / 10^d exactly, with n an
 * int32; -1 when there is none (the block stores float64 prices).
 */
function priceDecimals(bid: Float64Array, ask: Float64Array, n: number): number {
  let d = 0;
  for (const prices of [bid, ask]) {
    for (let i = 0; i < n; i++) {
      const p = prices[i]!;
      while (!exactAt(p, d)) {
        if (++d > MAX_DECIMALS) return -1;
      }
    }
  }
  // A larger d found late may overflow an earlier, larger price: check the block at the final d.
  for (const prices of [bid, ask]) for (let i = 0; i < n; i++) if (!exactAt(prices[i]!, d)) return -1;
  return d;
}

function exactAt(price: number, decimals: number): boolean {
  const scale = POW10[decimals]!;
  const n = Math.round(price * scale);
  return n <= INT32_MAX && n >= -INT32_MAX && n / scale === price;
}

/** Where a cache is written before `finish()` renames it into place (an interrupted import removes it). */
export function cacheTempPath(path: string): string {
  return `${path}.${process.pid}.tmp`;
}
