/**
 * The signals file of the `signals` entry (SPEC §5):
 * `time,market,direction,size[,stopPoints][,limitPoints][,strategy]`, with a header.
 *
 * The whole file is checked before anything is returned: one UserError lists every bad row with
 * its line and field, so a backtest never runs on half a signal list.
 */
import { readFile } from 'node:fs/promises';

import { CsvError, parse } from 'csv-parse/sync';

import type { SignalRow } from '../../domain/config.js';
import { UserError } from '../../domain/errors.js';
import { isValidTimeZone } from '../../config/units.js';
import { ZoneResolver } from './ticks/zone.js';

export interface LoadSignalsOptions {
  /** IANA zone for ISO times written without a zone; UTC when absent (SPEC §9 "Tick input"). */
  timezone?: string | undefined;
}

type Column = 'time' | 'market' | 'direction' | 'size' | 'stopPoints' | 'limitPoints' | 'strategy';

/** Header names after trimming, lower-casing and dropping `_`, `-` and spaces. */
const COLUMN_NAMES: Readonly<Record<string, Column>> = {
  time: 'time',
  timestamp: 'time',
  market: 'market',
  epic: 'market',
  direction: 'direction',
  size: 'size',
  stoppoints: 'stopPoints',
  limitpoints: 'limitPoints',
  strategy: 'strategy',
};
const REQUIRED: readonly Column[] = ['time', 'market', 'direction', 'size'];
const ALL_COLUMNS = 'time, market, direction, size, stopPoints, limitPoints, strategy';

/** More than this many bad rows are counted, not listed: the first ones show the pattern. */
const MAX_LISTED_PROBLEMS = 20;

export async function loadSignals(file: string, opts: LoadSignalsOptions = {}): Promise<SignalRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new UserError(`signals file not found: ${file}`, 'Check entry.file in the configuration.');
    throw new UserError(`cannot read signals file ${file}: ${(error as Error).message}`);
  }
  return parseSignals(text, file, opts);
}

/** Parses the text of a signals file; `file` names it in messages. Pure. */
export function parseSignals(text: string, file: string, opts: LoadSignalsOptions = {}): SignalRow[] {
  const timezone = opts.timezone;
  if (timezone !== undefined && !isValidTimeZone(timezone)) {
    throw new UserError(
      `unknown time zone "${timezone}" for the signals file ${file}; expected an IANA zone such as Europe/London`,
    );
  }

  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    if (error instanceof CsvError) {
      const line = typeof error['lines'] === 'number' ? `:${error['lines']}` : '';
      throw new UserError(`cannot read the signals file ${file}${line}: ${error.message}`);
    }
    throw error;
  }
  // A line of blanks is a blank line too.
  const rows = records.filter(({ record }) => record.some((field) => field !== ''));

  const header = rows[0];
  if (!header) throw new UserError(`signals file ${file} is empty; expected a header: ${ALL_COLUMNS}`);
  const columns = readHeader(header.record, file, header.info.lines);

  const problems: string[] = [];
  const signals: { signal: SignalRow; order: number }[] = [];
  for (const [index, { record, info }] of rows.slice(1).entries()) {
    const where = `${file}:${info.lines}`;
    // SPEC §5 writes the optional columns in brackets: a row may leave out trailing optional
    // fields (they are empty), not a required one, and may not have more fields than the header.
    const shortOf = columns.slice(record.length).filter((column) => REQUIRED.includes(column));
    if (record.length > columns.length || shortOf.length > 0) {
      problems.push(
        `${where}: expected ${columns.length} fields as in the header${record.length < columns.length ? ` (at least up to ${shortOf.join(', ')})` : ''}, got ${record.length}`,
      );
      continue;
    }
    const full =
      record.length < columns.length
        ? [...record, ...new Array<string>(columns.length - record.length).fill('')]
        : record;
    const result = readRow(full, columns, timezone);
    if (typeof result === 'string') problems.push(`${where}: ${result}`);
    else signals.push({ signal: result, order: index });
  }

  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((problem) => `  - ${problem}`);
    if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`);
    const count = problems.length === 1 ? '1 bad row' : `${problems.length} bad rows`;
    throw new UserError(
      `signals file ${file} has ${count}:\n${listed.join('\n')}`,
      'Fix the rows listed above and run again.',
    );
  }

  // Stable: rows with the same time keep file order.
  return signals.sort((a, b) => a.signal.time - b.signal.time || a.order - b.order).map(({ signal }) => signal);
}

function readHeader(names: readonly string[], file: string, line: number): Column[] {
  const columns: Column[] = [];
  for (const name of names) {
    const column = COLUMN_NAMES[name.toLowerCase().replace(/[-_\s]/g, '')];
    if (column === undefined) {
      const looksLikeData = parseTimestamp(name) !== undefined;
      throw new UserError(
        looksLikeData
          ? `signals file ${file} has no header; the first line must name the columns: ${ALL_COLUMNS}`
          : `${file}:${line}: unknown column "${name}"; expected one of ${ALL_COLUMNS}`,
      );
    }
    if (columns.includes(column)) throw new UserError(`${file}:${line}: column "${name}" appears twice`);
    columns.push(column);
  }
  const missing = REQUIRED.filter((column) => !columns.includes(column));
  if (missing.length > 0) {
    throw new UserError(`${file}:${line}: the header lacks ${missing.join(', ')}; expected ${ALL_COLUMNS}`);
  }
  return columns;
}

/** The signal of one row, or the text of its first problem ("size: got …; expected …"). */
function readRow(
  record: readonly string[],
  columns: readonly Column[],
  timezone: string | undefined,
): SignalRow | string {
  const field = (column: Column): string => {
    const index = columns.indexOf(column);
    return index < 0 ? '' : (record[index] ?? '');
  };
  const bad = (column: Column, expected: string) =>
    `${column}: got ${JSON.stringify(field(column))}; expected ${expected}`;

  const time = parseTimestamp(field('time'), timezone);
  if (time === undefined) return bad('time', 'an ISO-8601 time (2024-03-01T09:00:00Z) or epoch milliseconds');

  const market = field('market');
  if (market === '') return bad('market', 'a market id (epic)');

  const direction = field('direction').toUpperCase();
  if (direction !== 'BUY' && direction !== 'SELL') return bad('direction', 'BUY or SELL');

  const size = parsePositive(field('size'));
  if (size === undefined) return bad('size', 'a number > 0');

  const signal: SignalRow = { time, market, direction, size };

  for (const column of ['stopPoints', 'limitPoints'] as const) {
    const text = field(column);
    if (text === '') continue;
    const points = parseNonNegative(text);
    if (points === undefined) return bad(column, 'a number of points ≥ 0, or empty');
    signal[column] = points;
  }

  const strategy = field('strategy');
  if (strategy !== '') signal.strategy = strategy;
  return signal;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function parsePositive(text: string): number | undefined {
  const value = parseNonNegative(text);
  return value !== undefined && value > 0 ? value : undefined;
}

function parseNonNegative(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  // -0 is 0 (a `-0` would reach the journal's arithmetic as a negative zero).
  return Number.isFinite(value) && value >= 0 ? value + 0 : undefined;
}

// ---------------------------------------------------------------------------------------------
// Times

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Epoch milliseconds (digits only) or ISO-8601 (`2024-03-01T09:00:00.250+01:00`, `2024-03-01 09:00Z`,
 * `2024-03-01`). An ISO time without a zone is local to `timezone`, UTC when absent. Returns
 * undefined for anything else, including impossible dates such as 2024-02-30.
 */
export function parseTimestamp(text: string, timezone?: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  const match = ISO.exec(trimmed);
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  // Millisecond resolution: further digits are dropped, not rounded, so a time never moves forward.
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;

  const wallClock = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(wallClock);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    return undefined;

  if (zone !== undefined) {
    if (zone.toUpperCase() === 'Z') return wallClock;
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    return wallClock - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  if (timezone === undefined || timezone === 'UTC') return wallClock;
  return zonedToUtc(wallClock, timezone);
}

/** One resolver per zone: wall-clock times to UTC with the tick reader's DST rules. */
const resolvers = new Map<string, ZoneResolver>();

function zonedToUtc(wallClock: number, zone: string): number {
  let resolver = resolvers.get(zone);
  if (resolver === undefined) {
    resolver = new ZoneResolver(zone);
    resolvers.set(zone, resolver);
  }
  return resolver.toUtc(wallClock);
}
