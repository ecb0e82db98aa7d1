import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../domain/errors.js';
import { stringify } from 'csv-stringify/sync';
import type { JournalRow } from '../../domain/types.js';
import { round8 } from '../../engine/numeric.js';
import type { Journal } from '../../ports/journal.js';

export const JOURNAL_COLUMNS = [
  'time',
  'market',
  'deal_id',
  'strategy',
  'direction',
  'action',
  'size',
  'price',
  'stop_level',
  'pnl_points',
  'pnl_amount',
  'r_multiple',
  'reason',
  'held_seconds',
] as const;

/**
 * One formatter for every row: toLocaleString would build one per call (~28 µs against ~0.6 µs).
 * Made on first use: it loads ICU's number data (~5 MB of resident memory, which the bench's peak
 * RSS saw), which a journal of prices below 1e7 never needs.
 */
let significant15: Intl.NumberFormat | undefined;

/** SPEC §6.2: no exponent, no trailing zeros, 8 decimals at most, -0 as 0, empty when absent. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '';
  // A double holds 15 significant digits: from 1e7 up, 8 decimals would print its binary noise
  // (69786395.7 as 69786395.69999997), so it is written to 15 significant digits there, half away
  // from zero, and never with an exponent (toPrecision and toFixed use one from 1e21).
  if (Math.abs(value) >= 1e7 && Number.isFinite(value))
    return (significant15 ??= new Intl.NumberFormat('en-US', {
      useGrouping: false,
      maximumSignificantDigits: 15,
    })).format(value);
  const r = round8(value);
  if (Number.isInteger(r)) return r.toFixed(0);
  return r.toFixed(8).replace(/0+$/, '').replace(/\.$/, '');
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function journalFields(row: JournalRow): string[] {
  return [
    formatTime(row.time),
    row.market,
    row.dealId,
    row.strategy,
    row.direction,
    row.action,
    formatNumber(row.size),
    formatNumber(row.price),
    formatNumber(row.stopLevel),
    formatNumber(row.pnlPoints),
    formatNumber(row.pnlAmount),
    formatNumber(row.rMultiple),
    row.reason,
    row.heldMs === undefined ? '' : formatNumber(row.heldMs / 1000),
  ];
}

export function formatJournalRows(rows: readonly JournalRow[]): string {
  return stringify(rows.map(journalFields));
}

export const JOURNAL_HEADER = stringify([[...JOURNAL_COLUMNS]]);

export interface CsvJournalOptions {
  /** fsync after every append (live: a confirmed deal must not be lost to a crash). */
  durable: boolean;
  /** Rows kept in memory before a write (backtest); ignored when durable. */
  bufferRows?: number | undefined;
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

/**
 * trade_history.csv, appended and never rewritten (SPEC §6.2). The header is written when the
 * file is new or empty. Shared unchanged by backtest and live.
 */
/**
 * The configuration's journal path, checked (and its directory made) before IG is reached: a
 * directory in its place, or a folder that cannot be made, is the configuration's mistake.
 */
export function prepareJournalPath(path: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // not there yet: written at the first row
  }
  if (isDirectory) throw new UserError(`journal ${path} is a directory`, 'set journal: to a file in the configuration');
  checkJournalFile(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw new UserError(
      `journal ${path}: cannot make its directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'check journal: in the configuration',
    );
  }
}

/**
 * An existing journal must be one: its first line trailguard's header (SPEC §6.2), and writable.
 * Rows appended under another file's header would be ignored by every later start's recovery
 * (their field count is not the header's), and a deal's ENTRY written again; a file that cannot
 * be written would be found only after logging in to IG. Both are said before anything is done.
 */
function checkJournalFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // made at the first row
    throw new UserError(
      `journal ${path} cannot be written (${code ?? (error as Error).message})`,
      "check journal: in the configuration and the file's permissions",
    );
  }
  try {
    const head = Buffer.alloc(JOURNAL_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n === 0) return; // empty: the header is written first
    const found = head.subarray(0, n).toString('utf8');
    if (found !== JOURNAL_HEADER)
      throw new UserError(
        `journal ${path} is not a trailguard journal: its first line is ${JSON.stringify(found.split(/\r?\n/)[0]?.slice(0, 120))}`,
        `point journal: at a new file or at a trade_history.csv trailguard wrote (its header: ${JOURNAL_HEADER.trim()})`,
      );
  } finally {
    closeSync(fd);
  }
}

export class CsvJournal implements Journal {
  private fd: number | undefined;
  private buffer: JournalRow[] = [];
  private readonly bufferRows: number;

  constructor(
    readonly path: string,
    private readonly options: CsvJournalOptions,
  ) {
    this.bufferRows = options.durable ? 0 : (options.bufferRows ?? 512);
    this.fd = openSync(path, 'a+', 0o644);
    const size = fstatSync(this.fd).size;
    if (size === 0) this.write(JOURNAL_HEADER);
    else if (!endsWithNewline(this.fd, size)) {
      // Saved by an editor without a final newline, or cut short by a power loss: the next row
      // must start a line of its own, or it would run into the last one (and be lost to it).
      this.write('\n');
    }
  }

  append(rows: readonly JournalRow[]): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    if (this.bufferRows === 0) {
      this.write(formatJournalRows(rows));
      return;
    }
    for (const row of rows) this.buffer.push(row);
    if (this.buffer.length >= this.bufferRows) this.writeBuffer();
  }

  flush(): Promise<void> {
    this.writeBuffer();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.fd !== undefined) {
      this.writeBuffer();
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    return Promise.resolve();
  }

  private writeBuffer(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.write(formatJournalRows(rows));
  }

  /**
   * Appends `text` whole or not at all: a write that fails part-way (a full disk writes what fits,
   * then fails) is cut back to where it started, so the file never ends in half a row that the
   * next append would run into.
   */
  private write(text: string): void {
    const fd = this.fd as number;
    const bytes = Buffer.from(text, 'utf8');
    const start = fstatSync(fd).size;
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      if (this.options.durable) fsyncSync(fd);
    } catch (error) {
      if (offset > 0) ftruncateSync(fd, start);
      throw error;
    }
  }
}
