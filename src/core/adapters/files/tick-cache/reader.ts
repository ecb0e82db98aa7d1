import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InvariantError, UserError } from '../../../domain/errors.js';
import { fileError } from '../ticks/chunks.js';
import {
  B,
  BLOCK_HEADER_BYTES,
  bodyBytesOf,
  checksum,
  FILE_HEADER_BYTES,
  FLAG_TIME_ORDERED,
  FORMAT_VERSION,
  H,
  hasMagic,
  MarketEncoding,
  MAX_BLOCK_TICKS,
  MAX_DECIMALS,
  pad8,
  POW10,
  PriceEncoding,
  readBlockHeader,
  readFileHeader,
  TimeEncoding,
  type BlockHeader,
  type CacheMetadata,
  type FileHeader,
} from './format.js';

/**
 * Ticks decoded at a time. A block is checked whole, then decoded and yielded in parts of this
 * many ticks, so that the run loop reads each part while it is still in the core's cache: a whole
 * 65,536-tick block decodes to 1.8 MB of columns, more than this machine's 1 MB L2.
 */
export const DECODE_TICKS = 8192;

/**
 * Columns of one part of a block (DECODE_TICKS at most), decoded; `market` holds dictionary ids
 * (or what `marketMap` made of them).
 */
export interface DecodedBlock {
  count: number;
  time: Float64Array;
  bid: Float64Array;
  ask: Float64Array;
  market: Int32Array;
  /** The time range of the whole block the part comes from. */
  minTime: number;
  maxTime: number;
}

export interface BlockReadOptions {
  /** Epoch ms, inclusive: blocks that end before are skipped unread. */
  from?: number | undefined;
  /** Epoch ms, exclusive. */
  to?: number | undefined;
  /**
   * Dictionary id → the value written to `market` (e.g. a public index, -1 for a market to
   * ignore). Identity when absent.
   */
  marketMap?: Int32Array | undefined;
  /** Bytes read so far, after each block. */
  onBytes?: ((bytesRead: number, totalBytes: number) => void) | undefined;
}

/**
 * An open tick cache: header and metadata read and checked, blocks read one at a time into
 * reused columns (memory stays at one block whatever the file size). Every problem with the
 * file is a UserError naming it.
 */
export class TickCacheFile {
  readonly header: FileHeader;
  readonly meta: CacheMetadata;
  readonly size: number;
  private fd: number | undefined;
  private readonly buffer: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly columns: DecodedBlock;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    header: FileHeader,
    meta: CacheMetadata,
  ) {
    this.fd = fd;
    this.size = size;
    this.header = header;
    this.meta = meta;
    const max = Math.min(header.blockTicks, DECODE_TICKS);
    this.buffer = new ArrayBuffer(
      BLOCK_HEADER_BYTES +
        bodyBytesOf(header.blockTicks, TimeEncoding.Float64, PriceEncoding.Float64, MarketEncoding.Int32),
    );
    this.bytes = new Uint8Array(this.buffer);
    this.columns = {
      count: 0,
      time: new Float64Array(max),
      bid: new Float64Array(max),
      ask: new Float64Array(max),
      market: new Int32Array(max),
      minTime: Number.NaN,
      maxTime: Number.NaN,
    };
  }

  /** Opens and checks a cache file: magic, version, header and metadata checksums, length. */
  static open(path: string): TickCacheFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw fileError(path, error);
    }
    try {
      const size = fstatSync(fd).size;
      const head = new Uint8Array(FILE_HEADER_BYTES);
      const got = readFully(fd, head, 0, FILE_HEADER_BYTES, 0);
      if (got < 8 || !hasMagic(head))
        throw corrupt(path, 'it does not start with the trailguard tick cache magic bytes');
      if (got < FILE_HEADER_BYTES)
        throw corrupt(path, `truncated: ${size} bytes, shorter than the ${FILE_HEADER_BYTES}-byte header`);
      const view = new DataView(head.buffer);
      const version = view.getUint16(H.version, true);
      if (version !== FORMAT_VERSION) {
        throw new UserError(
          `${path}: tick cache format version ${version}, this trailguard reads version ${FORMAT_VERSION}`,
          're-create it with `trailguard ticks import`',
        );
      }
      if (checksum(head.subarray(0, H.headerCrc)) !== view.getUint32(H.headerCrc, true)) {
        throw corrupt(path, 'header checksum mismatch');
      }
      const header = readFileHeader(view);
      if (header.blockTicks < 1 || header.blockTicks > MAX_BLOCK_TICKS)
        throw corrupt(path, `block size ${header.blockTicks} out of range`);
      const expected = header.metaOffset + header.metaLength;
      if (size !== expected) {
        throw corrupt(
          path,
          size < expected
            ? `truncated: ${size} bytes, the header says ${expected}`
            : `${size - expected} unexpected bytes after the end`,
        );
      }
      const metaBytes = new Uint8Array(header.metaLength);
      readFully(fd, metaBytes, 0, header.metaLength, header.metaOffset);
      if (checksum(metaBytes) !== header.metaCrc) throw corrupt(path, 'metadata checksum mismatch');
      let meta: CacheMetadata;
      try {
        meta = JSON.parse(
          Buffer.from(metaBytes.buffer, metaBytes.byteOffset, metaBytes.length).toString('utf8'),
        ) as CacheMetadata;
      } catch {
        throw corrupt(path, 'metadata is not valid JSON');
      }
      if (!Array.isArray(meta.markets) || meta.markets.length !== header.marketCount)
        throw corrupt(path, 'market dictionary does not match the header');
      return new TickCacheFile(path, fd, size, header, meta);
    } catch (error) {
      closeSync(fd);
      if (error instanceof UserError) throw error;
      throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
    }
  }

  get timeOrdered(): boolean {
    return (this.header.flags & FLAG_TIME_ORDERED) !== 0;
  }

  /**
   * The blocks that overlap [from, to), in file order, each verified against its checksum before
   * it is decoded. The yielded columns are reused by the next block. When every block was read,
   * the payload checksum and the tick count are checked too (a dropped or reordered block).
   */
  *blocks(options: BlockReadOptions = {}): Generator<DecodedBlock, void, undefined> {
    const from = options.from ?? -Infinity;
    const to = options.to ?? Infinity;
    const { header, path } = this;
    const headerView = new DataView(this.buffer, 0, BLOCK_HEADER_BYTES);
    const crcScratch = new DataView(new ArrayBuffer(4));
    let crcOfCrcs = 0;
    let ticks = 0;
    let offset = FILE_HEADER_BYTES;
    let readAll = true;
    for (let k = 0; k < header.blockCount; k++) {
      if (offset + BLOCK_HEADER_BYTES > header.metaOffset)
        throw corrupt(path, `block ${k} of ${header.blockCount} is missing`);
      readFully(this.requireOpen(), this.bytes, 0, BLOCK_HEADER_BYTES, offset);
      const block = readBlockHeader(headerView);
      if (block === undefined) throw corrupt(path, `block ${k} at byte ${offset} has no block marker`);
      const bodyBytes = bodyBytesOf(block.count, block.timeEncoding, block.priceEncoding, block.marketEncoding);
      if (
        block.count < 1 ||
        block.count > header.blockTicks ||
        bodyBytes < 0 ||
        bodyBytes !== block.bodyBytes ||
        block.decimals > MAX_DECIMALS ||
        offset + BLOCK_HEADER_BYTES + bodyBytes > header.metaOffset
      ) {
        throw corrupt(path, `block ${k} at byte ${offset} has an invalid header`);
      }
      crcScratch.setUint32(0, block.crc, true);
      crcOfCrcs = checksum(new Uint8Array(crcScratch.buffer), crcOfCrcs);
      ticks += block.count;
      const start = offset;
      offset += BLOCK_HEADER_BYTES + bodyBytes;
      // Checked before its times decide anything: the block's checksum covers its header, and a
      // damaged time range must not skip the block, or end the read, without a word. A block
      // outside the window is read and checked, not decoded.
      readFully(this.requireOpen(), this.bytes, BLOCK_HEADER_BYTES, bodyBytes, start + BLOCK_HEADER_BYTES);
      const crc = checksum(
        this.bytes.subarray(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + bodyBytes),
        checksum(this.bytes.subarray(0, B.crc)),
      );
      if (crc !== block.crc)
        throw corrupt(path, `checksum mismatch in block ${k} (ticks ${ticks - block.count + 1}–${ticks})`);
      options.onBytes?.(offset, this.size);
      if (block.minTime >= to) {
        // In a time-ordered file (the file header says so, under its own checksum) nothing after
        // this block can be in the window either.
        if (this.timeOrdered) {
          readAll = false;
          break;
        }
        continue;
      }
      if (block.maxTime < from) continue;
      for (let start = 0; start < block.count; start += DECODE_TICKS) {
        this.decode(block, options.marketMap, start, Math.min(DECODE_TICKS, block.count - start));
        yield this.columns;
      }
    }
    if (readAll) {
      if (offset !== header.metaOffset) throw corrupt(path, 'the blocks do not end where the metadata starts');
      if (ticks !== header.tickCount)
        throw corrupt(path, `the blocks hold ${ticks} ticks, the header says ${header.tickCount}`);
      if (crcOfCrcs !== header.payloadCrc) throw corrupt(path, 'payload checksum mismatch');
    }
    options.onBytes?.(this.size, this.size);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private requireOpen(): number {
    if (this.fd === undefined) throw new InvariantError(`tick cache ${this.path} is closed`);
    return this.fd;
  }

  /** Decodes ticks [start, start + n) of the block in the buffer into the columns. */
  private decode(block: BlockHeader, marketMap: Int32Array | undefined, start: number, n: number): void {
    const total = block.count;
    const out = this.columns;
    const buf = this.buffer;
    let at = BLOCK_HEADER_BYTES;
    const time = out.time;
    if (block.timeEncoding === TimeEncoding.Delta32) {
      const col = new Int32Array(buf, at + start * 4, n);
      const base = block.minTime;
      for (let i = 0; i < n; i++) time[i] = base + col[i]!;
      at += pad8(total * 4);
    } else {
      time.set(new Float64Array(buf, at + start * 8, n));
      at += pad8(total * 8);
    }
    for (const prices of [out.bid, out.ask]) {
      if (block.priceEncoding === PriceEncoding.Scaled32) {
        // Division, not multiplication by 10^-d: see format.ts for why this is exact.
        const scale = POW10[block.decimals]!;
        const col = new Int32Array(buf, at + start * 4, n);
        for (let i = 0; i < n; i++) prices[i] = col[i]! / scale;
        at += pad8(total * 4);
      } else {
        prices.set(new Float64Array(buf, at + start * 8, n));
        at += pad8(total * 8);
      }
    }
    const market = out.market;
    const marketCount = this.header.marketCount;
    const checkId = (id: number): number => {
      if (id < 0 || id >= marketCount)
        throw corrupt(this.path, `market id ${id} outside the dictionary of ${marketCount}`);
      return id;
    };
    switch (block.marketEncoding) {
      case MarketEncoding.Constant: {
        const id = checkId(block.constMarket);
        market.fill(marketMap === undefined ? id : marketMap[id]!, 0, n);
        break;
      }
      case MarketEncoding.Uint8:
      case MarketEncoding.Uint16:
      case MarketEncoding.Int32: {
        const col =
          block.marketEncoding === MarketEncoding.Uint8
            ? new Uint8Array(buf, at + start, n)
            : block.marketEncoding === MarketEncoding.Uint16
              ? new Uint16Array(buf, at + start * 2, n)
              : new Int32Array(buf, at + start * 4, n);
        for (let i = 0; i < n; i++) {
          const id = col[i]!;
          if (id >= marketCount || id < 0) checkId(id);
          market[i] = marketMap === undefined ? id : marketMap[id]!;
        }
        break;
      }
      default:
        throw corrupt(this.path, `unknown market encoding ${String(block.marketEncoding)}`);
    }
    out.count = n;
    out.minTime = block.minTime;
    out.maxTime = block.maxTime;
  }
}

export function corrupt(path: string, what: string): UserError {
  return new UserError(
    `${path} is not a valid trailguard tick cache: ${what}`,
    're-create it with `trailguard ticks import`',
  );
}

function readFully(fd: number, into: Uint8Array, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
