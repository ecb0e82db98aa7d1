// The `signals` entry's CSV (SPEC §5): time,market,direction,size[,stopPoints][,limitPoints][,strategy].
import { parse } from 'csv-parse/sync';
import type { Direction } from './config.js';

export interface SignalRow {
  /** Position in the file (0-based), for "enter them in file order". */
  index: number;
  time: number;
  market: string;
  direction: Direction;
  size: number | undefined;
  stopPoints: number | undefined;
  limitPoints: number | undefined;
  strategy: string | undefined;
}

/** Times are ISO-8601 (a time without a zone is UTC, SPEC §9 Tick input) or epoch milliseconds (digits only). */
export function parseTime(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(t);
  const ms = Date.parse(hasZone || !t.includes('T') ? t : `${t}Z`);
  if (Number.isNaN(ms)) throw new Error(`signals: bad time ${text}`);
  return ms;
}

function optionalNumber(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined; // empty optional fields mean absent
  const v = Number(text.trim());
  if (!Number.isFinite(v)) throw new Error(`signals: bad ${what} ${text}`);
  return v;
}

export function parseSignals(text: string): SignalRow[] {
  const records = parse(text, { skip_empty_lines: true, trim: true }) as string[][];
  const [header, ...rows] = records;
  if (header === undefined) return [];
  const column = new Map(header.map((name, i) => [name.trim().toLowerCase(), i]));
  const field = (row: string[], name: string): string | undefined => {
    const i = column.get(name.toLowerCase());
    return i === undefined ? undefined : row[i];
  };
  return rows.map((row, index): SignalRow => {
    const direction = (field(row, 'direction') ?? '').trim().toUpperCase();
    if (direction !== 'BUY' && direction !== 'SELL') throw new Error(`signals: bad direction ${direction}`);
    const strategy = (field(row, 'strategy') ?? '').trim();
    return {
      index,
      time: parseTime(field(row, 'time') ?? ''),
      market: (field(row, 'market') ?? '').trim(),
      direction,
      size: optionalNumber(field(row, 'size'), 'size'),
      stopPoints: optionalNumber(field(row, 'stopPoints'), 'stopPoints'),
      limitPoints: optionalNumber(field(row, 'limitPoints'), 'limitPoints'),
      strategy: strategy === '' ? undefined : strategy,
    };
  });
}
