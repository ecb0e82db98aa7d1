import { UserError } from '../../../domain/errors.js';

export type TickFormat = 'standard' | 'histdata' | 'dukascopy';

/** Where the fields of a row are, and how many a row must have. */
export interface Columns {
  time: number;
  bid: number;
  ask: number;
  /** -1 when the file has no market column. */
  market: number;
  count: number;
  /** The time column says its times are UTC (Dukascopy `Gmt time`, `Time (UTC)`): --timezone does not apply. */
  timeIsUtc: boolean;
}

/** HistData tick rows have no header: `time,bid,ask,volume`. */
export const HISTDATA_COLUMNS: Columns = { time: 0, bid: 1, ask: 2, market: -1, count: 4, timeIsUtc: true };

const TIME_NAMES: Record<Exclude<TickFormat, 'histdata'>, readonly string[]> = {
  standard: ['time', 'timestamp'],
  dukascopy: ['gmt time', 'time (utc)', 'local time', 'time', 'timestamp'],
};
const UTC_TIME_NAMES = new Set(['gmt time', 'time (utc)']);
const MARKET_NAMES = ['market', 'epic'];

/** Header names are trimmed and case-insensitive (SPEC §9); a UTF-8 BOM is not part of a name. */
export function normalizeHeader(names: readonly string[]): string[] {
  return names.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim().toLowerCase());
}

function find(names: readonly string[], wanted: readonly string[]): number {
  for (const w of wanted) {
    const i = names.indexOf(w);
    if (i >= 0) return i;
  }
  return -1;
}

/** A header as quoted in a message: at most 200 characters. */
function shortened(text: string): string {
  return text.length <= 200 ? text : `${text.slice(0, 200)}…`;
}

/** Resolves a header row; throws UserError naming the file when a required column is missing. */
export function resolveColumns(
  format: Exclude<TickFormat, 'histdata'>,
  rawNames: readonly string[],
  file: string,
  hasDefaultMarket: boolean,
): Columns {
  // A file whose lines end with a CR alone (classic Mac) reads as one line: its "header" holds the
  // whole file (or its first MiB), which no message should quote.
  if (rawNames.some((name) => name.includes('\r')))
    throw new UserError(
      `${file}: its lines end with a carriage return (CR) alone, which is not a line end here`,
      'convert the file to LF or CRLF line ends (e.g. tr "\\r" "\\n" < old.csv > new.csv)',
    );
  const names = normalizeHeader(rawNames);
  const timeNames = TIME_NAMES[format];
  const time = find(names, timeNames);
  const bid = find(names, ['bid']);
  const ask = find(names, ['ask']);
  const market = find(names, MARKET_NAMES);
  const missing: string[] = [];
  if (time < 0) missing.push(timeNames.map((n) => `"${n}"`).join(' or '));
  if (bid < 0) missing.push('"bid"');
  if (ask < 0) missing.push('"ask"');
  if (missing.length > 0) {
    throw new UserError(
      `${file}: the header has no ${missing.join(', no ')} column (found: ${shortened(rawNames.join(','))})`,
      format === 'standard'
        ? 'a tick file starts with a header such as time,bid,ask or time,market,bid,ask; use --format for HistData or Dukascopy exports'
        : 'is --format right for this file?',
    );
  }
  if (market < 0 && !hasDefaultMarket) {
    throw new UserError(
      `${file} has no market (or epic) column, and no single market to read it as`,
      'pass one --market, or a --config with exactly one market',
    );
  }
  return { time, bid, ask, market, count: names.length, timeIsUtc: UTC_TIME_NAMES.has(names[time] ?? '') };
}
