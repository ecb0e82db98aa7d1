/**
 * The binary tick cache (`.tgt`, issue 4): validated ticks, merged by time, in columnar blocks
 * that a backtest reads without parsing anything.
 *
 * Layout (little-endian throughout):
 *
 * ```
 * file header   128 bytes  magic, version, counts, time range, where the metadata is, checksums
 * block 0       64-byte block header + columns
 * block 1 …
 * metadata      UTF-8 JSON: market dictionary, per-market counts, sources, rows skipped at import
 * ```
 *
 * Why this shape:
 * - Columns, not rows: a block decodes straight into the Float64Array/Int32Array columns of a
 *   TickBatch with one tight loop per column, and a column's bytes can be checked and skipped
 *   as a whole.
 * - Blocks of at most 65,536 ticks: reading and writing hold one block (under 2 MB) whatever the
 *   file size, and a `--from/--to` window skips whole blocks by their time range.
 * - Times as int32 milliseconds after the block's earliest tick (when the block spans less
 *   than ~24.8 days), else float64 epoch ms: 4 bytes a tick and an add to decode. Ticks keep
 *   the order the text readers delivered them in, which is not always time order across
 *   markets (SPEC §9 checks order per market), so blocks carry their min and max time and the
 *   header says whether the whole file is in time order (then a `--to` stops the read early).
 * - Prices as int32 scaled by 10^decimals, with the decimals stored per block, float64 when a
 *   block's prices do not fit: 4 bytes a price. Exactness: the writer stores n only when
 *   n / 10^d === price, and a division of two exactly representable numbers is correctly
 *   rounded, so decoding gives back the very double the text reader produced (17900.1 is
 *   179001 / 10, bit for bit). Multiplying by 0.1 instead would not.
 * - The market column is left out of single-market blocks (the usual case), else 1, 2 or 4
 *   bytes a tick, indexing the market dictionary.
 * - Checksums: each block carries the CRC-32 of its header and columns, so a block is verified
 *   before its ticks are used (a backtest fails on a corrupt block instead of trading on it);
 *   the file header carries the CRC-32 of the sequence of block CRCs (covering the whole
 *   payload, including blocks dropped or reordered), the metadata's CRC and its own.
 *   CRC-32 because Node computes it natively (zlib.crc32, ~3 GB/s).
 */
import { crc32 } from 'node:zlib';

/** "\x89TGT\r\n\x1a\n": a high byte and a CR-LF catch files mangled by text-mode transfers (as PNG's magic does). */
export const MAGIC = Uint8Array.of(0x89, 0x54, 0x47, 0x54, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;
export const FILE_HEADER_BYTES = 128;
export const BLOCK_HEADER_BYTES = 64;
export const BLOCK_MAGIC = 0x31424754; // "TGB1"
export const DEFAULT_BLOCK_TICKS = 65_536;
export const MAX_BLOCK_TICKS = 1 << 20;
export const EXTENSION = '.tgt';

/** How a block stores its times: int32 ms after the block's `minTime`, or float64 epoch ms. */
export const TimeEncoding = { Delta32: 1, Float64: 2 } as const;
export type TimeEncoding = (typeof TimeEncoding)[keyof typeof TimeEncoding];

/** How a block stores bid and ask: int32 n with price = n / 10^decimals, or float64. */
export const PriceEncoding = { Scaled32: 1, Float64: 2 } as const;
export type PriceEncoding = (typeof PriceEncoding)[keyof typeof PriceEncoding];

/** How a block stores each tick's market: not at all (every tick is `constMarket`), or 1, 2, 4 bytes. */
export const MarketEncoding = { Constant: 0, Uint8: 1, Uint16: 2, Int32: 3 } as const;
export type MarketEncoding = (typeof MarketEncoding)[keyof typeof MarketEncoding];

/** Byte offsets in the file header. */
export const H = {
  magic: 0,
  version: 8,
  headerBytes: 10,
  flags: 12,
  tickCount: 16,
  blockCount: 24,
  blockTicks: 28,
  minTime: 32,
  maxTime: 40,
  metaOffset: 48,
  metaLength: 56,
  metaCrc: 60,
  payloadCrc: 64,
  marketCount: 68,
  headerCrc: 124,
} as const;

/** Byte offsets in a block header. */
export const B = {
  magic: 0,
  count: 4,
  bodyBytes: 8,
  timeEncoding: 12,
  priceEncoding: 13,
  marketEncoding: 14,
  decimals: 15,
  minTime: 16,
  maxTime: 24,
  constMarket: 32,
  crc: 60,
} as const;

/** Largest power of ten a price is scaled by. */
export const MAX_DECIMALS = 9;
export const POW10 = Float64Array.from({ length: MAX_DECIMALS + 1 }, (_, k) => 10 ** k);

/** File header flag: every tick's time is ≥ the previous tick's. */
export const FLAG_TIME_ORDERED = 1;

export interface FileHeader {
  version: number;
  flags: number;
  tickCount: number;
  blockCount: number;
  blockTicks: number;
  /** Earliest and latest tick time (NaN when empty). */
  minTime: number;
  maxTime: number;
  metaOffset: number;
  metaLength: number;
  metaCrc: number;
  payloadCrc: number;
  marketCount: number;
}

export interface BlockHeader {
  count: number;
  bodyBytes: number;
  timeEncoding: TimeEncoding;
  priceEncoding: PriceEncoding;
  marketEncoding: MarketEncoding;
  decimals: number;
  /** Earliest tick time of the block: times are stored after it. */
  minTime: number;
  maxTime: number;
  constMarket: number;
  crc: number;
}

/** Counts by market, as kept in the metadata. */
export interface MarketSummary {
  market: string;
  ticks: number;
  firstTime: number | undefined;
  lastTime: number | undefined;
}

/** The metadata section: what the fixed headers have no room for. */
export interface CacheMetadata {
  /** Market dictionary: the market column of a block indexes this list. */
  markets: string[];
  perMarket: MarketSummary[];
  /** The tick files the cache was made from, in command-line order. */
  sources: { file: string; bytes: number }[];
  format: string;
  timezone?: string | undefined;
  defaultMarket?: string | undefined;
  /** Rows the text readers skipped at import (SPEC §6.1), so a backtest of the cache reports them as a backtest of the files does. */
  skipped: { malformed: number; crossed: number; nonPositive: number; outOfOrder: number };
  firstSkipped: {
    file: string;
    line: number;
    kind: 'malformed' | 'crossed' | 'nonPositive' | 'outOfOrder';
    message: string;
  }[];
}

export function checksum(data: Uint8Array, previous = 0): number {
  return crc32(data, previous) >>> 0;
}

export function hasMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/** Rounds a column's byte length up to 8 so that every column of a block starts 8-aligned (Float64Array views need it). */
export function pad8(bytes: number): number {
  return (bytes + 7) & ~7;
}

export function marketBytes(encoding: MarketEncoding): number {
  switch (encoding) {
    case MarketEncoding.Constant:
      return 0;
    case MarketEncoding.Uint8:
      return 1;
    case MarketEncoding.Uint16:
      return 2;
    case MarketEncoding.Int32:
      return 4;
    default:
      return -1;
  }
}

/** Byte length of a block's columns, from its header; -1 for an encoding this version does not know. */
export function bodyBytesOf(count: number, time: TimeEncoding, price: PriceEncoding, market: MarketEncoding): number {
  const t = time === TimeEncoding.Delta32 ? 4 : time === TimeEncoding.Float64 ? 8 : -1;
  const p = price === PriceEncoding.Scaled32 ? 4 : price === PriceEncoding.Float64 ? 8 : -1;
  const m = marketBytes(market);
  if (t < 0 || p < 0 || m < 0) return -1;
  return pad8(count * t) + 2 * pad8(count * p) + pad8(count * m);
}

export function writeFileHeader(view: DataView, h: FileHeader): void {
  new Uint8Array(view.buffer, view.byteOffset, FILE_HEADER_BYTES).fill(0);
  new Uint8Array(view.buffer, view.byteOffset, MAGIC.length).set(MAGIC);
  view.setUint16(H.version, h.version, true);
  view.setUint16(H.headerBytes, FILE_HEADER_BYTES, true);
  view.setUint32(H.flags, h.flags, true);
  view.setFloat64(H.tickCount, h.tickCount, true);
  view.setUint32(H.blockCount, h.blockCount, true);
  view.setUint32(H.blockTicks, h.blockTicks, true);
  view.setFloat64(H.minTime, h.minTime, true);
  view.setFloat64(H.maxTime, h.maxTime, true);
  view.setFloat64(H.metaOffset, h.metaOffset, true);
  view.setUint32(H.metaLength, h.metaLength, true);
  view.setUint32(H.metaCrc, h.metaCrc, true);
  view.setUint32(H.payloadCrc, h.payloadCrc, true);
  view.setUint32(H.marketCount, h.marketCount, true);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, H.headerCrc);
  view.setUint32(H.headerCrc, checksum(bytes), true);
}

/** Reads a file header whose magic and CRC the caller has checked. */
export function readFileHeader(view: DataView): FileHeader {
  return {
    version: view.getUint16(H.version, true),
    flags: view.getUint32(H.flags, true),
    tickCount: view.getFloat64(H.tickCount, true),
    blockCount: view.getUint32(H.blockCount, true),
    blockTicks: view.getUint32(H.blockTicks, true),
    minTime: view.getFloat64(H.minTime, true),
    maxTime: view.getFloat64(H.maxTime, true),
    metaOffset: view.getFloat64(H.metaOffset, true),
    metaLength: view.getUint32(H.metaLength, true),
    metaCrc: view.getUint32(H.metaCrc, true),
    payloadCrc: view.getUint32(H.payloadCrc, true),
    marketCount: view.getUint32(H.marketCount, true),
  };
}

export function writeBlockHeader(view: DataView, b: Omit<BlockHeader, 'crc'>): void {
  new Uint8Array(view.buffer, view.byteOffset, BLOCK_HEADER_BYTES).fill(0);
  view.setUint32(B.magic, BLOCK_MAGIC, true);
  view.setUint32(B.count, b.count, true);
  view.setUint32(B.bodyBytes, b.bodyBytes, true);
  view.setUint8(B.timeEncoding, b.timeEncoding);
  view.setUint8(B.priceEncoding, b.priceEncoding);
  view.setUint8(B.marketEncoding, b.marketEncoding);
  view.setUint8(B.decimals, b.decimals);
  view.setFloat64(B.minTime, b.minTime, true);
  view.setFloat64(B.maxTime, b.maxTime, true);
  view.setUint32(B.constMarket, b.constMarket, true);
}

export function readBlockHeader(view: DataView): BlockHeader | undefined {
  if (view.getUint32(B.magic, true) !== BLOCK_MAGIC) return undefined;
  return {
    count: view.getUint32(B.count, true),
    bodyBytes: view.getUint32(B.bodyBytes, true),
    timeEncoding: view.getUint8(B.timeEncoding) as TimeEncoding,
    priceEncoding: view.getUint8(B.priceEncoding) as PriceEncoding,
    marketEncoding: view.getUint8(B.marketEncoding) as MarketEncoding,
    decimals: view.getUint8(B.decimals),
    minTime: view.getFloat64(B.minTime, true),
    maxTime: view.getFloat64(B.maxTime, true),
    constMarket: view.getUint32(B.constMarket, true),
    crc: view.getUint32(B.crc, true),
  };
}
