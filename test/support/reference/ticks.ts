// An independent reference reader of tick files (SPEC §6.1, §9 "Tick input"), the standard format
// only (`time`/`timestamp`, `bid`, `ask`, optional `market`/`epic`), not --strict. Written from the
// spec without reading src/, to be used as a test oracle: slow and literal on purpose.
//
// Readings taken where the spec leaves room (SPEC section in brackets):
//  1. [§6.1 CSV] Records are split per RFC 4180 by hand, not with csv-parse, which one of the readers
//     under test uses: records end at LF or CRLF outside quotes; a lone CR is an ordinary
//     character. A field is quoted when its first character other than space/tab is `"`; inside,
//     `""` is a quote and commas, CR and LF are content. After the closing quote only spaces/tabs
//     may come before the next `,` or the end of the record. Breaking these
//     rules (text after a closing quote, a `"` inside an unquoted field) makes the record malformed;
//     a quote never closed makes the rest of the file one malformed record.
//  2. [§9 blank lines] A record that is one unquoted field of only whitespace (String.prototype.trim:
//     spaces, tabs, CR, BOM…) is blank: ignored, not counted, before or after the header. So a line
//     of spaces is blank, but `,,` is a (malformed) row.
//  3. [§9 header] The header is the first non-blank record; names are trimmed and lower-cased.
//     Required: `time` or `timestamp`, `bid`, `ask`; optional `market` or `epic`. A header missing a
//     required column, naming one role twice (`time` and `timestamp`, `market` and `epic`, or a
//     name repeated), or structurally malformed is a file error: the function throws (bad input,
//     exit 2). Other names are extra columns, ignored (they still count for the field count).
//     A file with no non-blank record has no header and contributes nothing (no error).
//  4. [§6.1 market flag] Without a market column the market is options.defaultMarket; if that is
//     undefined the function throws. With a market column the column wins, always.
//  5. [§9 fields] Every field value (quoted or not) is trimmed (String.prototype.trim) before use, so
//     ` 1.10252 ` is 1.10252 (the fixtures pad values around commas). An empty market is malformed.
//     Market names are otherwise taken as written (case-sensitive broker ids).
//  6. [§6.1 times] Accepted: epoch milliseconds = ASCII digits only (leading zeros allowed), at most
//     8.64e15 (the JS time range), else malformed; or ISO-8601 exactly
//     `YYYY-MM-DD(T| )HH:MM:SS(.f{1,3})?(Z|±HH:MM)?` with uppercase `T`/`Z`, a real calendar date
//     (proleptic Gregorian; 2024-02-30 is malformed), hour 00–23, minute and second 00–59 (no leap
//     second), offset hours 00–23 and minutes 00–59. 1–3 fraction digits are a fraction of a second
//     (`.5` = 500 ms). Refused as malformed: basic format (no dashes/colons), lowercase `t`/`z`,
//     missing seconds, more than 3 fraction digits, comma fractions, `±HHMM`/`±HH` offsets, week or
//     ordinal dates, anything else.
//  7. [§9 no zone] An ISO time without a zone is a wall time in options.timezone (UTC when
//     undefined). Wall times a DST change skips are moved forward by the gap (read with the offset in
//     force before the change); wall times that occur twice take the earlier instant (the
//     "compatible" disambiguation of Temporal / java.time / RFC 5545). An unknown zone throws.
//  8. [§6.1 prices] A price is a plain decimal: ASCII `[+-]?digits(.digits)?`. No exponent, no
//     leading or trailing dot, no thousands separators, no Infinity/NaN: otherwise malformed. A price
//     ≤ 0 (including `-0`, `0.000`) is skipped as non-positive. Positivity and bid > ask (crossed) are
//     decided on the exact decimal strings (SPEC §9 "Arithmetic"), the tick then carries Number(s).
//     bid = ask is accepted.
//  9. [§9 unknown markets] Every row is checked as a row first (field count, time, prices, empty
//     market, crossed, non-positive, order within its market) and skipped if it fails, whatever its
//     market; a good row of a market not configured is then ignored (counted in `ignored`). So a
//     file's skipped count does not depend on the configuration (docs/decisions.md 36: trailguard's
//     reading, taken here; this reference first let such rows skip the order check).
// 10. [§9 order] Per file and per market: a row whose time is earlier than the last good row of
//     its market in the same file is skipped; an equal time is accepted. Files do not see each
//     other's order marks.
// 11. [§6.1 merge] The accepted ticks of all files are put in one total order: time, then the files'
//     order in `files` (command line), then line order within a file (a stable sort of the
//     concatenation). This is a full sort: a file with several markets need not be in time order
//     across them (only per market), and its ticks are interleaved with the others' by time
//     (docs/decisions.md 36; for a while trailguard merged files head to head instead, each in its
//     own line order, and this reference followed).
import type { RefTick } from './index.js';

export interface RefTickFile {
  /** For messages only. */ name: string;
  /** The whole file's text (already decompressed). */ text: string;
}
export interface RefTickOptions {
  /** Market of files without a market column (SPEC §6.1 "from a flag"; §9 "else the only configured market" — the caller resolves that and passes it here). */
  defaultMarket?: string | undefined;
  /** Configured markets: ticks of other markets are ignored (counted as ignored, not skipped). */
  knownMarkets: ReadonlySet<string>;
  /** IANA zone for ISO times written without a zone (UTC when undefined). */
  timezone?: string | undefined;
}
export interface RefTickResult {
  /** Accepted ticks of configured markets, merged across files by time (ties: command-line order of files, then line order). */
  ticks: RefTick[];
  /** Data rows skipped as malformed, crossed (bid > ask), non-positive, or earlier than the previous accepted tick of their market in the same file. */
  skipped: number;
  /** Valid rows of markets not in knownMarkets. */
  ignored: number;
}

// ---------------------------------------------------------------------------------------------
// CSV records (reading 1, 2)

interface CsvField {
  value: string;
  quoted: boolean;
}
type CsvRecord = { kind: 'ok'; fields: CsvField[] } | { kind: 'malformed' };

const isBlankSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** Splits the text into RFC 4180 records (reading 1). */
function splitRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    // One record starts at i.
    const fields: CsvField[] = [];
    let malformed = false;
    let recordEnded = false;
    while (!recordEnded) {
      // One field starts at i.
      let j = i;
      while (j < n && isBlankSpace(text[j])) j++;
      let k: number;
      if (j < n && text[j] === '"') {
        // Quoted field.
        let value = '';
        k = j + 1;
        let closed = false;
        while (k < n) {
          const c = text[k]!;
          if (c === '"') {
            if (text[k + 1] === '"') {
              value += '"';
              k += 2;
              continue;
            }
            closed = true;
            k++;
            break;
          }
          value += c;
          k++;
        }
        if (!closed) {
          // Reading 1: a quote never closed takes the rest of the file as one malformed record.
          records.push({ kind: 'malformed' });
          return records;
        }
        while (k < n && isBlankSpace(text[k])) k++;
        fields.push({ value, quoted: true });
      } else {
        // Unquoted field: up to the next comma or LF.
        k = i;
        while (k < n && text[k] !== ',' && text[k] !== '\n') k++;
        let value = text.slice(i, k);
        const endsRecord = k >= n || text[k] === '\n';
        if (endsRecord && value.endsWith('\r') && k < n) value = value.slice(0, -1); // CRLF
        if (value.includes('"')) malformed = true;
        fields.push({ value, quoted: false });
      }
      // After the field: the end of the text, a comma, or the end of the record (an unquoted field
      // stops only at a comma, an LF or the end).
      if (k >= n) {
        i = n;
        recordEnded = true;
      } else if (text[k] === ',') {
        i = k + 1;
        if (i >= n) {
          // A trailing comma at end of file: one more, empty, field.
          fields.push({ value: '', quoted: false });
          recordEnded = true;
        }
      } else if (text[k] === '\n') {
        i = k + 1;
        recordEnded = true;
      } else if (text[k] === '\r' && (k + 1 >= n || text[k + 1] === '\n')) {
        i = k + 2;
        recordEnded = true;
      } else {
        // Text after a closing quote: the record is malformed; it ends at the next LF.
        malformed = true;
        const lf = text.indexOf('\n', k);
        i = lf === -1 ? n : lf + 1;
        recordEnded = true;
      }
    }
    records.push(malformed ? { kind: 'malformed' } : { kind: 'ok', fields });
  }
  return records;
}

/** Reading 2: one unquoted field of only whitespace. */
function isBlankRecord(record: CsvRecord): boolean {
  if (record.kind !== 'ok' || record.fields.length !== 1) return false;
  const only = record.fields[0]!;
  return !only.quoted && only.value.trim() === '';
}

// ---------------------------------------------------------------------------------------------
// Times (readings 6, 7)

const MAX_EPOCH_MS = 8_640_000_000_000_000;
const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?$/;

/** Offset (ms, local − UTC) of an IANA zone at an instant, through Intl. */
class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;

  constructor(zone: string) {
    // Throws RangeError for an unknown zone (a configuration error, reading 7).
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  offsetAt(instant: number): number {
    const whole = Math.floor(instant / 1000) * 1000;
    const parts = this.format.formatToParts(new Date(whole));
    const get = (type: Intl.DateTimeFormatPartTypes): string => {
      const part = parts.find((p) => p.type === type);
      if (part === undefined) throw new Error(`Intl gave no ${type} part`);
      return part.value;
    };
    let year = Number(get('year'));
    if (get('era') === 'BC') year = 1 - year;
    const hour = Number(get('hour')) % 24;
    const wall =
      daysFromCivil(year, Number(get('month')), Number(get('day'))) * MS_PER_DAY +
      ((hour * 60 + Number(get('minute'))) * 60 + Number(get('second'))) * 1000;
    return wall - whole;
  }

  /** The instant of a wall time (given as ms as if it were UTC) in this zone (reading 7). */
  instantOf(wall: number): number {
    const before = this.offsetAt(wall - MS_PER_DAY);
    const after = this.offsetAt(wall + MS_PER_DAY);
    const valid = [...new Set([before, after])]
      .filter((offset) => this.offsetAt(wall - offset) === offset)
      .map((offset) => wall - offset);
    if (valid.length > 0) return Math.min(...valid); // twice: the earlier instant
    return wall - before; // skipped: moved forward by the gap
  }
}

/** Epoch ms UTC of a time field, or undefined when malformed (reading 6). */
function parseTime(field: string, zone: ZoneOffsets | undefined): number | undefined {
  if (/^\d+$/.test(field)) {
    const ms = Number(field);
    return ms <= MAX_EPOCH_MS ? ms : undefined;
  }
  const m = ISO_TIME.exec(field);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = m[7];
  const ms = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0'));
  const wall = daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
  const zoneText = m[8];
  if (zoneText === undefined) return zone === undefined ? wall : zone.instantOf(wall);
  if (zoneText === 'Z') return wall;
  const sign = zoneText.startsWith('-') ? -1 : 1;
  const offHours = Number(zoneText.slice(1, 3));
  const offMinutes = Number(zoneText.slice(4, 6));
  if (offHours > 23 || offMinutes > 59) return undefined;
  return wall - sign * (offHours * 60 + offMinutes) * 60_000;
}

// ---------------------------------------------------------------------------------------------
// Prices (reading 8)

const PRICE = /^([+-]?)(\d+)(?:\.(\d+))?$/;

interface Decimal {
  negative: boolean;
  int: string; // no leading zeros ('' for zero integer part)
  frac: string; // no trailing zeros
}

function parseDecimal(field: string): Decimal | undefined {
  const m = PRICE.exec(field);
  if (m === null) return undefined;
  return {
    negative: m[1] === '-',
    int: m[2]!.replace(/^0+/, ''),
    frac: (m[3] ?? '').replace(/0+$/, ''),
  };
}

const isPositive = (d: Decimal): boolean => !d.negative && (d.int !== '' || d.frac !== '');

/** Compares two non-negative decimals exactly: -1, 0 or 1. */
function compareNonNegative(a: Decimal, b: Decimal): number {
  if (a.int.length !== b.int.length) return a.int.length < b.int.length ? -1 : 1;
  if (a.int !== b.int) return a.int < b.int ? -1 : 1;
  const width = Math.max(a.frac.length, b.frac.length);
  const fa = a.frac.padEnd(width, '0');
  const fb = b.frac.padEnd(width, '0');
  if (fa === fb) return 0;
  return fa < fb ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Files

interface Columns {
  count: number;
  time: number;
  bid: number;
  ask: number;
  market: number | undefined;
}

function readHeader(record: CsvRecord, fileName: string): Columns {
  if (record.kind !== 'ok') throw new Error(`${fileName}: the header line is malformed CSV`);
  const roles = new Map<string, number>();
  const names = record.fields.map((f) => f.value.trim().toLowerCase());
  const roleOf: Record<string, string> = {
    time: 'time',
    timestamp: 'time',
    bid: 'bid',
    ask: 'ask',
    market: 'market',
    epic: 'market',
  };
  names.forEach((name, index) => {
    const role = roleOf[name];
    if (role === undefined) return;
    if (roles.has(role)) throw new Error(`${fileName}: the header names the ${role} column twice`);
    roles.set(role, index);
  });
  const required = (role: string): number => {
    const index = roles.get(role);
    if (index === undefined) throw new Error(`${fileName}: the header has no ${role} column`);
    return index;
  };
  return {
    count: names.length,
    time: required('time'),
    bid: required('bid'),
    ask: required('ask'),
    market: roles.get('market'),
  };
}

type RowOutcome = { kind: 'skipped' } | { kind: 'ignored' } | { kind: 'accepted'; tick: RefTick };

function readFile(file: RefTickFile, options: RefTickOptions, zone: ZoneOffsets | undefined): RowOutcome[] {
  const records = splitRecords(file.text).filter((r) => !isBlankRecord(r));
  const headerRecord = records[0];
  if (headerRecord === undefined) return [];
  const columns = readHeader(headerRecord, file.name);
  if (columns.market === undefined && options.defaultMarket === undefined) {
    throw new Error(`${file.name}: no market column and no market given`);
  }
  const lastAccepted = new Map<string, number>();
  const outcomes: RowOutcome[] = [];
  for (const record of records.slice(1)) {
    outcomes.push(readRow(record, columns, options, zone, lastAccepted));
  }
  return outcomes;
}

function readRow(
  record: CsvRecord,
  columns: Columns,
  options: RefTickOptions,
  zone: ZoneOffsets | undefined,
  lastAccepted: Map<string, number>,
): RowOutcome {
  const skipped: RowOutcome = { kind: 'skipped' };
  if (record.kind !== 'ok' || record.fields.length !== columns.count) return skipped;
  const value = (index: number): string => record.fields[index]!.value.trim();
  const market = columns.market === undefined ? (options.defaultMarket as string) : value(columns.market);
  if (market === '') return skipped;
  const time = parseTime(value(columns.time), zone);
  if (time === undefined) return skipped;
  const bidText = value(columns.bid);
  const askText = value(columns.ask);
  const bid = parseDecimal(bidText);
  const ask = parseDecimal(askText);
  if (bid === undefined || ask === undefined) return skipped;
  if (!isPositive(bid) || !isPositive(ask)) return skipped;
  if (compareNonNegative(bid, ask) > 0) return skipped; // crossed
  const last = lastAccepted.get(market);
  if (last !== undefined && time < last) return skipped;
  lastAccepted.set(market, time);
  if (!options.knownMarkets.has(market)) return { kind: 'ignored' };
  return { kind: 'accepted', tick: { time, market, bid: Number(bidText), ask: Number(askText) } };
}

/** SPEC §6.1 and §9 "Tick input", the standard format (`time`/`timestamp`, `bid`, `ask`, optional `market`/`epic`), not --strict. */
export function referenceReadTicks(files: readonly RefTickFile[], options: RefTickOptions): RefTickResult {
  const zone = options.timezone === undefined ? undefined : new ZoneOffsets(options.timezone);
  let skipped = 0;
  let ignored = 0;
  const keyed: { tick: RefTick; file: number; order: number }[] = [];
  files.forEach((file, fileIndex) => {
    readFile(file, options, zone).forEach((outcome, order) => {
      switch (outcome.kind) {
        case 'skipped':
          skipped++;
          break;
        case 'ignored':
          ignored++;
          break;
        case 'accepted':
          keyed.push({ tick: outcome.tick, file: fileIndex, order });
          break;
        default: {
          const _exhaustive: never = outcome;
          throw new Error(`unknown outcome ${String(_exhaustive)}`);
        }
      }
    });
  });
  // Reading 11: one total order (time, file, line); explicit keys rather than sort stability.
  keyed.sort((a, b) => a.tick.time - b.tick.time || a.file - b.file || a.order - b.order);
  return { ticks: keyed.map((k) => k.tick), skipped, ignored };
}
