/**
 * Field parsers over bytes. Both reading paths (the byte-level reader and csv-parse) call exactly
 * these functions on the bytes of a field, so they agree on every value and every rejection.
 * A field is `buf[start, end)`; spaces, tabs and CRs around it are ignored. Parsers return NaN for
 * anything they do not accept.
 */
import { daysFromCivil, daysInMonth, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE } from './civil.js';
import type { ZoneResolver } from './zone.js';

const SPACE = 32;
const TAB = 9;
const CR = 13;

/** 10^0 … 10^22: every one is exactly representable, so `mantissa / POW10[k]` rounds once. */
export const POW10 = new Float64Array(23).map((_, k) => Number(`1e${k}`));

export function isBlankByte(c: number): boolean {
  return c === SPACE || c === TAB || c === CR;
}

/** True when the field holds nothing but spaces, tabs and CRs. */
export function isBlank(buf: Uint8Array, start: number, end: number): boolean {
  for (let p = start; p < end; p++) if (!isBlankByte(buf[p]!)) return false;
  return true;
}

export function trimStart(buf: Uint8Array, start: number, end: number): number {
  while (start < end && isBlankByte(buf[start]!)) start++;
  return start;
}

export function trimEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && isBlankByte(buf[end - 1]!)) end--;
  return end;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A decimal price. Up to 15 significant digits without exponent (every real price) is parsed as
 * an integer mantissa divided by a power of ten: both are exact doubles and IEEE division rounds
 * correctly, so the result is bit-identical to Number(text) (`1.10253` is the JS number 1.10253).
 * Longer numbers and exponents go through Number() after a strict grammar check, so "0x10",
 * "Infinity" or "" are rejected rather than read as numbers.
 */
export function parsePrice(buf: Uint8Array, start: number, end: number): number {
  const s = trimStart(buf, start, end);
  const e = trimEnd(buf, s, end);
  if (s === e) return Number.NaN;
  let p = s;
  let c = buf[p]!;
  let negative = false;
  if (c === 45) {
    negative = true;
    p++;
  } else if (c === 43) {
    p++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  let dot = false;
  for (; p < e; p++) {
    c = buf[p]!;
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digits++;
      if (dot) fraction++;
    } else if (c === 46 && !dot) {
      dot = true;
    } else if (c === 101 || c === 69) {
      return parseSlow(buf, s, e);
    } else {
      return Number.NaN;
    }
  }
  if (digits === 0) return Number.NaN;
  if (digits > 15) return parseSlow(buf, s, e);
  const value = fraction === 0 ? mantissa : mantissa / POW10[fraction]!;
  return negative ? -value : value;
}

function parseSlow(buf: Uint8Array, start: number, end: number): number {
  const text = latin1(buf, start, end);
  if (!DECIMAL.test(text)) return Number.NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

/** Two decimal digits at p, or -1. The caller guarantees p + 1 is inside the field. */
function two(buf: Uint8Array, p: number): number {
  const a = buf[p]! - 48;
  const b = buf[p + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function four(buf: Uint8Array, p: number): number {
  const hi = two(buf, p);
  const lo = two(buf, p + 2);
  return hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
}

/** Latest epoch ms a JS Date can hold. */
export const MAX_EPOCH_MS = 8.64e15;

/** HistData tick times are EST without daylight saving, i.e. UTC−5 all year (see HISTDATA_SOURCE). */
export const HISTDATA_OFFSET_MS = -5 * MS_PER_HOUR;

export type TimeGrammar = 'standard' | 'histdata' | 'dukascopy';

/**
 * Parses the time field of one file. Stateful only as a cache: the epoch ms of the last date seen,
 * since a tick file repeats the same date for a whole day.
 */
export class TimeParser {
  private dayKey = -1;
  private dayMs = 0;
  /** End of the clock part parsed by `clock()`. */
  private clockEnd = 0;

  constructor(
    private readonly grammar: TimeGrammar,
    /** Zone for times that carry no offset; undefined = UTC. */
    private readonly zone: ZoneResolver | undefined,
  ) {}

  parse(buf: Uint8Array, start: number, end: number): number {
    const s = trimStart(buf, start, end);
    const e = trimEnd(buf, s, end);
    if (s === e) return Number.NaN;
    switch (this.grammar) {
      case 'standard':
        return this.standard(buf, s, e);
      case 'histdata':
        return this.histdata(buf, s, e);
      case 'dukascopy':
        return this.dukascopy(buf, s, e);
      default: {
        const exhaustive: never = this.grammar;
        return exhaustive;
      }
    }
  }

  /** ISO-8601 or epoch milliseconds (digits only). */
  private standard(buf: Uint8Array, s: number, e: number): number {
    if (e - s >= 16 && buf[s + 4] === 45) return this.iso(buf, s, e);
    let ms = 0;
    for (let p = s; p < e; p++) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) return Number.NaN;
      ms = ms * 10 + d;
    }
    return ms <= MAX_EPOCH_MS ? ms : Number.NaN;
  }

  /** `YYYY-MM-DD(T| )HH:MM[:SS[.fff…]][Z|±HH[:MM]|±HHMM]`. */
  private iso(buf: Uint8Array, s: number, e: number): number {
    const year = four(buf, s);
    const month = two(buf, s + 5);
    const day = two(buf, s + 8);
    const sep = buf[s + 10];
    if (year < 0 || month < 0 || day < 0 || buf[s + 7] !== 45) return Number.NaN;
    if (sep !== 84 && sep !== 32 && sep !== 116) return Number.NaN;
    const dayMs = this.day(year, month, day);
    if (Number.isNaN(dayMs)) return Number.NaN;
    const clock = this.clock(buf, s + 11, e, true);
    if (clock < 0) return Number.NaN;
    let p = this.clockEnd;
    const local = dayMs + clock;
    if (p === e) return this.zone === undefined ? local : this.zone.toUtc(local);
    const c = buf[p]!;
    if (c === 90 || c === 122) return p + 1 === e ? local : Number.NaN;
    if (c !== 43 && c !== 45) return Number.NaN;
    // ±HH, ±HH:MM or ±HHMM
    if (p + 3 > e) return Number.NaN;
    const hours = two(buf, p + 1);
    p += 3;
    let minutes = 0;
    if (p < e) {
      if (buf[p] === 58) p++;
      if (p + 2 !== e) return Number.NaN;
      minutes = two(buf, p);
    }
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return Number.NaN;
    const offset = hours * MS_PER_HOUR + minutes * MS_PER_MINUTE;
    return c === 43 ? local - offset : local + offset;
  }

  /** HistData: `YYYYMMDD HHMMSSmmm`, EST (UTC−5, no DST). */
  private histdata(buf: Uint8Array, s: number, e: number): number {
    if (e - s !== 18 || buf[s + 8] !== SPACE) return Number.NaN;
    const year = four(buf, s);
    const month = two(buf, s + 4);
    const day = two(buf, s + 6);
    const hour = two(buf, s + 9);
    const minute = two(buf, s + 11);
    const second = two(buf, s + 13);
    const msHi = two(buf, s + 15);
    const msLo = buf[s + 17]! - 48;
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || msHi < 0) return Number.NaN;
    if (msLo < 0 || msLo > 9 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
    const dayMs = this.day(year, month, day);
    if (Number.isNaN(dayMs)) return Number.NaN;
    const local = dayMs + hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * 1000 + msHi * 10 + msLo;
    return local - HISTDATA_OFFSET_MS;
  }

  /**
   * Dukascopy exports: `DD.MM.YYYY HH:MM:SS[.mmm][ GMT±HHMM]` (JForex / historical data feed) or
   * `YYYY.MM.DD HH:MM:SS[.mmm]`; anything else is read as a standard time.
   */
  private dukascopy(buf: Uint8Array, s: number, e: number): number {
    if (e - s < 16) return this.standard(buf, s, e);
    let year: number;
    let month: number;
    let day: number;
    if (buf[s + 2] === 46 && buf[s + 5] === 46) {
      day = two(buf, s);
      month = two(buf, s + 3);
      year = four(buf, s + 6);
    } else if (buf[s + 4] === 46 && buf[s + 7] === 46) {
      year = four(buf, s);
      month = two(buf, s + 5);
      day = two(buf, s + 8);
    } else {
      return this.standard(buf, s, e);
    }
    if (year < 0 || month < 0 || day < 0 || buf[s + 10] !== SPACE) return Number.NaN;
    const dayMs = this.day(year, month, day);
    if (Number.isNaN(dayMs)) return Number.NaN;
    const clock = this.clock(buf, s + 11, e, false);
    if (clock < 0) return Number.NaN;
    let p = this.clockEnd;
    const local = dayMs + clock;
    if (p === e) return this.zone === undefined ? local : this.zone.toUtc(local);
    // " GMT", " GMT+0100", " GMT-0500"
    if (e - p < 4 || buf[p] !== SPACE || buf[p + 1] !== 71 || buf[p + 2] !== 77 || buf[p + 3] !== 84) return Number.NaN;
    p += 4;
    if (p === e) return local;
    const sign = buf[p];
    if ((sign !== 43 && sign !== 45) || e - p !== 5) return Number.NaN;
    const hours = two(buf, p + 1);
    const minutes = two(buf, p + 3);
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return Number.NaN;
    const offset = hours * MS_PER_HOUR + minutes * MS_PER_MINUTE;
    return sign === 43 ? local - offset : local + offset;
  }

  /** Epoch ms of a civil date, cached while the date repeats; NaN when the date does not exist. */
  private day(year: number, month: number, day: number): number {
    const key = year * 10_000 + month * 100 + day;
    if (key === this.dayKey) return this.dayMs;
    if (day < 1 || day > daysInMonth(year, month)) return Number.NaN;
    this.dayKey = key;
    this.dayMs = daysFromCivil(year, month, day) * MS_PER_DAY;
    return this.dayMs;
  }

  /**
   * `HH:MM[:SS[.fff…]]` from p (seconds required unless `secondsOptional`), as ms into the day,
   * or -1. Sets `clockEnd` to where it stopped. Fractions finer than a millisecond are truncated.
   */
  private clock(buf: Uint8Array, p: number, e: number, secondsOptional: boolean): number {
    if (p + 5 > e || buf[p + 2] !== 58) return -1;
    const hour = two(buf, p);
    const minute = two(buf, p + 3);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return -1;
    p += 5;
    let second = 0;
    let ms = 0;
    if (p < e && buf[p] === 58) {
      if (p + 3 > e) return -1;
      second = two(buf, p + 1);
      if (second < 0 || second > 59) return -1;
      p += 3;
      if (p < e && buf[p] === 46) {
        p++;
        let n = 0;
        for (; p < e; p++, n++) {
          const d = buf[p]! - 48;
          if (d < 0 || d > 9) break;
          if (n < 3) ms = ms * 10 + d;
        }
        if (n === 0) return -1;
        if (n === 1) ms *= 100;
        else if (n === 2) ms *= 10;
      }
    } else if (!secondsOptional) {
      return -1;
    }
    this.clockEnd = p;
    return hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * 1000 + ms;
  }
}
