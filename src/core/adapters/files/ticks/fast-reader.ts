import { UserError } from '../../../domain/errors.js';
import { resolveColumns } from './columns.js';
import { MAX_LINE_BYTES, readWithCsvParse } from './csv-reader.js';
import { civilDayStart } from './civil.js';
import { isBlank, MAX_EPOCH_MS, POW10 } from './fields.js';
import type { FileBatch, FileSink } from './file-sink.js';
import type { ZoneResolver } from './zone.js';

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

const ROLE_OTHER = 0;
const ROLE_TIME = 1;
const ROLE_BID = 2;
const ROLE_ASK = 3;
const ROLE_MARKET = 4;

/**
 * The byte-level reader for standard-format files: one pass over the chunk bytes finds the fields
 * and parses the common shapes on the way (`2024-01-02T08:00:00.123Z` or epoch ms, plain decimal
 * prices), with no string per field. Any row it does not parse cleanly goes to FileSink.row, the
 * general judge csv-parse rows also go to; the fast shapes are a subset of what the general
 * parsers accept, giving the same values, so the two paths cannot disagree.
 *
 * It reads plain CSV only. At the first line with a quote, or a CR that does not end the line,
 * it hands the rest of the file (from that line on) to csv-parse.
 */
class ByteScanner {
  /** Lines consumed so far; the next line is `line + 1`. */
  line = 0;
  headerDone = false;
  /** Set when the line at the position `scan` returned needs csv-parse. */
  handoff = false;
  private atFileStart = true;
  private roles = new Int8Array(0);
  private zone: ZoneResolver | undefined;
  /** The bytes `YYYY-MM-DD` of the last date read, as words (dateW2 = -1: none yet), and its start. */
  private dateW0 = 0;
  private dateW1 = 0;
  private dateW2 = -1;
  private dayMs = 0;
  /** Where `fastTime` stopped. */
  private timeEnd = 0;
  /**
   * The time `fastTime` parsed. A field rather than the return value: epoch ms do not fit a small
   * integer, and a double returned from a call V8 does not inline is boxed (a HeapNumber per tick,
   * half the reader's garbage). A double field is updated in place.
   */
  private timeValue = Number.NaN;
  /** The columns are exactly `time,market,bid,ask` (SPEC's standard file, what live records). */
  private canonical = false;
  /** Where `fastPrice` stopped, and what it read (fields, for the reason `timeValue` is one). */
  private priceEnd = 0;
  private priceValue = Number.NaN;

  constructor(
    private readonly file: string,
    private readonly sink: FileSink,
    private readonly hasDefaultMarket: boolean,
  ) {}

  /**
   * Consumes the complete lines of `buf[pos, end)` and returns where it stopped: at `end`, at the
   * start of an incomplete last line (unless `atEof`), when the sink is full, or at a line that
   * needs csv-parse (`handoff`).
   */
  scan(buf: Uint8Array, pos: number, end: number, atEof: boolean): number {
    if (this.atFileStart) {
      this.atFileStart = false;
      if (end - pos >= 3 && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) pos += 3;
    }
    if (!this.headerDone) {
      pos = this.scanHeader(buf, pos, end, atEof);
      if (!this.headerDone || this.handoff) return pos;
    }
    const sink = this.sink;
    const fs = sink.fieldStart;
    const fe = sink.fieldEnd;
    const roles = this.roles;
    const count = roles.length;
    const zone = this.zone;
    const defaultMarket = sink.defaultMarket;
    // The market of the previous row: files repeat a handful of names, usually in runs, so the
    // market field is first compared with it in place, in the same pass that finds the field's
    // end (the lookup otherwise costs a second pass and a call per row). Names in the lookup are
    // trimmed and hold no comma, quote or CR, so a field that equals one and ends right there is
    // what the general path would read as that name.
    let known = sink.lastMarketBytes;
    let knownWords = sink.lastMarketWords;
    let knownId = sink.lastMarketId;
    // For reading 4 bytes at a time (startsWithName).
    const words = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const canonical = this.canonical;
    while (pos < end) {
      if (sink.length >= sink.capacity) return pos;
      // The usual row, read in one straight line; anything else (and a row cut by the chunk's
      // end) goes through the general loop below, which reads the same shapes to the same values.
      if (canonical && known !== undefined) {
        const next = this.canonicalRow(buf, words, pos, end, zone, known, knownWords!, knownId);
        if (next >= 0) {
          pos = next;
          continue;
        }
      }
      let p = pos;
      let f = 0;
      let general = false;
      let irregular = false;
      let time = 0;
      let bid = 0;
      let ask = 0;
      let market = defaultMarket;
      let marketStart = -1;
      let marketEnd = -1;
      let marketId = -1;
      let c = 0;
      for (;;) {
        const s = p;
        const role = f < count ? roles[f]! : ROLE_OTHER;
        let ok = false;
        if (role === ROLE_BID || role === ROLE_ASK) {
          if (this.fastPrice(buf, p, end)) {
            ok = true;
            p = this.priceEnd;
            if (role === ROLE_BID) bid = this.priceValue;
            else ask = this.priceValue;
          }
        } else if (role === ROLE_TIME) {
          if (this.fastTime(buf, words, p, end, zone)) {
            ok = true;
            time = this.timeValue;
            p = this.timeEnd;
          }
        } else if (role === ROLE_MARKET && known !== undefined) {
          if (p + known.length <= end && startsWithName(buf, words, p, known, knownWords!)) {
            ok = true;
            p += known.length;
          }
        }
        // A fast parse counts only if the field ends right where it stopped.
        if (ok && p < end) {
          c = buf[p]!;
          ok = c === COMMA || c === LF || (c === CR && p + 1 < end && buf[p + 1] === LF);
        }
        if (!ok) {
          if (role !== ROLE_OTHER && role !== ROLE_MARKET) general = true;
          for (; p < end; p++) {
            c = buf[p]!;
            // Every byte that matters here is below '-' (45); digits, '.', '-', ':' and letters are not.
            if (c < 45) {
              if (c === COMMA || c === LF) break;
              if (c === QUOTE || (c === CR && (p + 1 >= end || buf[p + 1] !== LF))) irregular = true;
            }
          }
        }
        let e = p;
        if (p < end) {
          c = buf[p]!;
          if (c === CR) {
            p++; // CRLF: the fast parse stopped at the CR
            c = LF;
          } else if (c === LF && e > s && buf[e - 1] === CR) {
            e--;
          }
        }
        if (f < count) {
          fs[f] = s;
          fe[f] = e;
        }
        if (role === ROLE_MARKET) {
          marketStart = s;
          marketEnd = e;
          if (ok) marketId = knownId;
        }
        f++;
        if (p >= end || c !== COMMA) break;
        p++;
      }
      if (p >= end && !atEof) return pos;
      if (irregular) {
        this.handoff = true;
        return pos;
      }
      // Only a complete row names a market: a field cut at a chunk boundary must not register one.
      if (marketId >= 0) {
        market = marketId;
      } else if (marketStart >= 0) {
        market = sink.lookupMarket(buf, marketStart, marketEnd);
        if (market < 0) general = true;
        known = sink.lastMarketBytes;
        knownWords = sink.lastMarketWords;
        knownId = sink.lastMarketId;
      }
      const line = this.line + 1;
      if (f === 1 && isBlank(buf, fs[0]!, fe[0]!)) {
        // blank line: ignored, but counted
      } else if (general || f !== count) {
        sink.row(buf, line, f);
      } else {
        sink.accept(line, time, bid, ask, market);
      }
      this.line = line;
      pos = p < end ? p + 1 : end;
    }
    return pos;
  }

  /**
   * One `time,market,bid,ask` row from `pos` whose market is `known` (the previous row's): each
   * field parsed as the general loop's fast shapes parse it and ending where they require, the
   * line complete within `end`. Accepts it into the sink and returns the next line's start, or -1
   * (nothing done) for any other row.
   */
  private canonicalRow(
    buf: Uint8Array,
    words: DataView,
    pos: number,
    end: number,
    zone: ZoneResolver | undefined,
    known: Uint8Array,
    knownWords: Int32Array,
    knownId: number,
  ): number {
    if (!this.fastTime(buf, words, pos, end, zone)) return -1;
    let p = this.timeEnd;
    if (p >= end || buf[p] !== COMMA) return -1;
    p++;
    if (p + known.length >= end || !startsWithName(buf, words, p, known, knownWords)) return -1;
    p += known.length;
    if (buf[p] !== COMMA) return -1;
    if (!this.fastPrice(buf, p + 1, end)) return -1;
    p = this.priceEnd;
    if (p >= end || buf[p] !== COMMA) return -1;
    const bid = this.priceValue;
    if (!this.fastPrice(buf, p + 1, end)) return -1;
    p = this.priceEnd;
    if (p >= end) return -1;
    let c = buf[p];
    if (c === CR) {
      p++;
      if (p >= end) return -1;
      c = buf[p];
    }
    if (c !== LF) return -1;
    const line = this.line + 1;
    this.sink.accept(line, this.timeValue, bid, this.priceValue, knownId);
    this.line = line;
    return p + 1;
  }

  /**
   * A plain decimal price from p (digits and at most one point, 15 digits at most): true with
   * `priceValue`/`priceEnd`. As parsePrice: exact mantissa / exact power of ten, rounded once,
   * = Number(text).
   */
  private fastPrice(buf: Uint8Array, p: number, end: number): boolean {
    let mantissa = 0;
    let digits = 0;
    let dotAt = -1;
    for (; p < end; p++) {
      const c = buf[p]!;
      const d = c - 48;
      if (d >= 0 && d <= 9) {
        mantissa = mantissa * 10 + d;
        digits++;
      } else if (c === 46 && dotAt < 0) {
        dotAt = digits;
      } else {
        break;
      }
    }
    if (digits === 0 || digits > 15) return false;
    this.priceEnd = p;
    this.priceValue = dotAt < 0 || dotAt === digits ? mantissa : mantissa / POW10[digits - dotAt]!;
    return true;
  }

  /**
   * `YYYY-MM-DD(T| )HH:MM:SS[.mmm][Z]` or epoch-ms digits from p: true with the time in
   * `timeValue` and its end in `timeEnd`, false for anything else (offsets, other fractions), which
   * is left to the general parser.
   */
  private fastTime(buf: Uint8Array, words: DataView, p: number, end: number, zone: ZoneResolver | undefined): boolean {
    if (p + 19 <= end && buf[p + 4] === 45) {
      const sep = buf[p + 10];
      if ((sep !== 84 && sep !== 32) || buf[p + 13] !== 58 || buf[p + 16] !== 58) return false;
      const h0 = buf[p + 11]! - 48;
      const h1 = buf[p + 12]! - 48;
      const i0 = buf[p + 14]! - 48;
      const i1 = buf[p + 15]! - 48;
      const s0 = buf[p + 17]! - 48;
      const s1 = buf[p + 18]! - 48;
      // Negative if any of them is not a digit.
      const all = h0 | h1 | i0 | i1 | s0 | s1 | (9 - h0) | (9 - h1) | (9 - i0) | (9 - i1) | (9 - s0) | (9 - s1);
      if (all < 0) return false;
      const hour = h0 * 10 + h1;
      const minute = i0 * 10 + i1;
      const second = s0 * 10 + s1;
      if (hour > 23 || minute > 59 || second > 59) return false;
      // A day's ticks repeat its date: the same ten bytes as the last date read are that date,
      // already checked; compared as words, they spare parsing and checking eight digits per row.
      const w0 = words.getInt32(p, true);
      const w1 = words.getInt32(p + 4, true);
      const w2 = words.getUint16(p + 8, true);
      if (w0 !== this.dateW0 || w1 !== this.dateW1 || w2 !== this.dateW2) {
        if (buf[p + 7] !== 45) return false;
        const y0 = buf[p]! - 48;
        const y1 = buf[p + 1]! - 48;
        const y2 = buf[p + 2]! - 48;
        const y3 = buf[p + 3]! - 48;
        const m0 = buf[p + 5]! - 48;
        const m1 = buf[p + 6]! - 48;
        const d0 = buf[p + 8]! - 48;
        const d1 = buf[p + 9]! - 48;
        const digits = y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1;
        const over = (9 - y0) | (9 - y1) | (9 - y2) | (9 - y3) | (9 - m0) | (9 - m1) | (9 - d0) | (9 - d1);
        if ((digits | over) < 0) return false;
        const dayMs = civilDayStart(y0 * 1000 + y1 * 100 + y2 * 10 + y3, m0 * 10 + m1, d0 * 10 + d1);
        if (Number.isNaN(dayMs)) return false;
        this.dateW0 = w0;
        this.dateW1 = w1;
        this.dateW2 = w2;
        this.dayMs = dayMs;
      }
      let q = p + 19;
      let ms = 0;
      if (q < end && buf[q] === 46) {
        if (q + 4 > end) return false;
        const f0 = buf[q + 1]! - 48;
        const f1 = buf[q + 2]! - 48;
        const f2 = buf[q + 3]! - 48;
        if ((f0 | f1 | f2 | (9 - f0) | (9 - f1) | (9 - f2)) < 0) return false;
        ms = f0 * 100 + f1 * 10 + f2;
        q += 4;
      }
      const local = this.dayMs + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
      if (q < end && buf[q] === 90) {
        this.timeEnd = q + 1;
        this.timeValue = local;
        return true;
      }
      this.timeEnd = q;
      const utc = zone === undefined ? local : zone.toUtc(local);
      if (Number.isNaN(utc)) return false;
      this.timeValue = utc;
      return true;
    }
    let value = 0;
    let q = p;
    for (; q < end; q++) {
      const d = buf[q]! - 48;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    if (q === p || value > MAX_EPOCH_MS) return false;
    this.timeEnd = q;
    this.timeValue = value;
    return true;
  }

  private scanHeader(buf: Uint8Array, pos: number, end: number, atEof: boolean): number {
    while (pos < end) {
      let p = pos;
      let irregular = false;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c === LF) break;
        if (c === QUOTE || (c === CR && (p + 1 >= end || buf[p + 1] !== LF))) irregular = true;
      }
      if (p >= end && !atEof) return pos;
      if (irregular) {
        this.handoff = true;
        return pos;
      }
      let lineEnd = p;
      if (p < end && lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
      this.line++;
      const next = p < end ? p + 1 : end;
      if (!isBlank(buf, pos, lineEnd)) {
        this.header(Buffer.from(buf.buffer, buf.byteOffset + pos, lineEnd - pos).toString('utf8'));
        return next;
      }
      pos = next;
    }
    return pos;
  }

  private header(text: string): void {
    const columns = resolveColumns('standard', text.split(','), this.file, this.hasDefaultMarket);
    this.sink.setColumns(columns);
    const roles = new Int8Array(columns.count);
    roles[columns.time] = ROLE_TIME;
    roles[columns.bid] = ROLE_BID;
    roles[columns.ask] = ROLE_ASK;
    if (columns.market >= 0) roles[columns.market] = ROLE_MARKET;
    this.roles = roles;
    this.canonical =
      columns.count === 4 && columns.time === 0 && columns.market === 1 && columns.bid === 2 && columns.ask === 3;
    this.zone = this.sink.timeZone;
    this.headerDone = true;
  }
}

export interface FastReadOptions {
  file: string;
  sink: FileSink;
  chunks: AsyncIterable<Buffer>;
  hasDefaultMarket: boolean;
}

/**
 * True when `buf` holds the market name `name` at p (the caller checked it fits): four bytes at a
 * time through `words`, a view of `buf`, against the name's own words (MarketLookup), then the
 * tail byte by byte. Comparing byte by byte was a fifth of the reader's time.
 */
function startsWithName(buf: Uint8Array, words: DataView, p: number, name: Uint8Array, nameWords: Int32Array): boolean {
  const nw = nameWords.length;
  for (let w = 0; w < nw; w++) if (words.getInt32(p + 4 * w, true) !== nameWords[w]) return false;
  for (let i = 4 * nw; i < name.length; i++) if (buf[p + i] !== name[i]) return false;
  return true;
}

/** A plain Uint8Array over the same bytes: V8 indexes it about twice as fast as a Buffer. */
function view(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Reads one standard-format file; yields the sink each time it fills (and once at the end). */
export async function* readFast(options: FastReadOptions): AsyncGenerator<FileBatch, void, undefined> {
  const { file, sink } = options;
  const scanner = new ByteScanner(file, sink, options.hasDefaultMarket);
  const it = options.chunks[Symbol.asyncIterator]();
  const tooLong = (): UserError =>
    new UserError(`${file}, line ${scanner.line + 1}: line longer than 1 MiB`, 'is this a CSV tick file?');

  /** csv-parse reads from `heads` on, then the rest of the file. */
  const handOff = (heads: Uint8Array[]): AsyncGenerator<FileBatch, void, undefined> =>
    readWithCsvParse({
      file,
      format: 'standard',
      sink,
      chunks: rest(heads, it),
      hasDefaultMarket: options.hasDefaultMarket,
      lineOffset: scanner.line,
      headerDone: scanner.headerDone,
      atFileStart: false,
    });

  try {
    /** The start of a line that straddles chunks (a copy: chunk buffers are reused). */
    let carry: Uint8Array | undefined;
    for (;;) {
      const next = await it.next();
      if (next.done === true) break;
      const chunk = view(next.value);
      let pos = 0;
      if (carry !== undefined) {
        const lf = chunk.indexOf(LF);
        if (lf < 0) {
          carry = concat(carry, chunk);
          if (carry.length > MAX_LINE_BYTES) throw tooLong();
          continue;
        }
        const joined = concat(carry, chunk.subarray(0, lf + 1));
        carry = undefined;
        if (joined.length > MAX_LINE_BYTES) throw tooLong();
        let q = 0;
        for (;;) {
          q = scanner.scan(joined, q, joined.length, false);
          if (scanner.handoff) {
            yield* handOff([joined.subarray(q), chunk.subarray(lf + 1)]);
            return;
          }
          if (q >= joined.length) break;
          yield sink;
          sink.length = 0;
        }
        pos = lf + 1;
      }
      for (;;) {
        pos = scanner.scan(chunk, pos, chunk.length, false);
        if (scanner.handoff) {
          yield* handOff([chunk.subarray(pos)]);
          return;
        }
        if (!sink.full) break;
        yield sink;
        sink.length = 0;
      }
      if (pos < chunk.length) carry = chunk.slice(pos);
    }
    if (carry !== undefined) {
      if (carry.length > MAX_LINE_BYTES) throw tooLong();
      let q = 0;
      for (;;) {
        q = scanner.scan(carry, q, carry.length, true);
        if (scanner.handoff) {
          yield* handOff([carry.subarray(q)]);
          return;
        }
        if (q >= carry.length) break;
        yield sink;
        sink.length = 0;
      }
    }
    if (!scanner.headerDone) {
      throw new UserError(
        `${file} is empty: it has no header line`,
        'a tick file starts with a header such as time,bid,ask',
      );
    }
    if (sink.length > 0) {
      yield sink;
      sink.length = 0;
    }
  } finally {
    await it.return?.(undefined);
  }
}

async function* rest(heads: Uint8Array[], it: AsyncIterator<Buffer>): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for (const head of heads) if (head.length > 0) yield head;
    for (;;) {
      const next = await it.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await it.return?.(undefined);
  }
}
