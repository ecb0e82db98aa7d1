import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvJournal, formatNumber, JOURNAL_HEADER } from '../../../../src/core/adapters/files/journal-csv.js';
import { JournalIndex } from '../../../../src/core/adapters/files/journal-index.js';
import type { JournalRow } from '../../../../src/core/domain/types.js';

const DAX = 'IX.D.DAX.DAILY.IP';
const entry = (dealId: string): JournalRow => ({
  time: Date.UTC(2024, 2, 14, 8),
  market: DAX,
  dealId,
  strategy: 'default',
  direction: 'BUY',
  action: 'ENTRY',
  size: 1,
  price: 101,
  stopLevel: 81,
  reason: 'SIGNAL',
});
const ENTRY_A = `2024-03-14T08:00:00.000Z,${DAX},A,default,BUY,ENTRY,1,101,81,,,,SIGNAL,`;

describe('trade_history.csv appended to a file someone else touched (SPEC §6.2)', () => {
  it('a journal saved without a final newline gets one before the next row, so no row runs into another', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tg-journal-')), 'trade_history.csv');
    writeFileSync(path, `${JOURNAL_HEADER}${ENTRY_A}`); // an editor dropped the final newline
    const journal = new CsvJournal(path, { durable: true });
    journal.append([entry('B')]);
    await journal.close();
    expect(readFileSync(path, 'utf8')).toBe(`${JOURNAL_HEADER}${ENTRY_A}\n${ENTRY_A.replace(',A,', ',B,')}\n`);
    const index = await JournalIndex.read(path);
    expect([...index.entries.keys()]).toEqual(['A', 'B']);
    expect(index.rows).toBe(2);
  });

  it('lines that are not rows (cut short, run together) are ignored, left out of the row count, and reported with their line numbers', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tg-journal-')), 'trade_history.csv');
    const torn = ENTRY_A.slice(0, 40);
    const runTogether = `${ENTRY_A.replace(',A,', ',C,')}${ENTRY_A.replace(',A,', ',D,')}`;
    writeFileSync(path, `${JOURNAL_HEADER}${ENTRY_A}\n${torn}\n${runTogether}\n\n${ENTRY_A.replace(',A,', ',E,')}\n`);
    const warnings: string[] = [];
    const index = await JournalIndex.read(path, (message) => warnings.push(message));
    expect([...index.entries.keys()]).toEqual(['A', 'E']);
    expect(index.rows).toBe(2);
    expect(warnings).toEqual([`${path}: ignored 2 line(s) that are not 14-field journal rows: line 3, 4`]);
  });
});

describe('journal numbers (SPEC §6.2)', () => {
  it.each([
    { value: 69786395.69999997, written: '69786395.7', why: 'from 1e7 up, 15 significant digits, not binary noise' },
    { value: 84694822.70299999, written: '84694822.703', why: 'held seconds with milliseconds, 980 days' },
    { value: 59058219193.99999237, written: '59058219194', why: 'a whole number with noise' },
    { value: 1.23456789, written: '1.23456789', why: '8 decimals below 1e7' },
    { value: 0.1 + 0.2, written: '0.3', why: 'noise beyond 8 decimals' },
    { value: -0.000000001, written: '0', why: '-0 is written 0' },
    { value: 1002000000000000, written: '1002000000000000', why: 'from 1e15 up, no binary noise (.125)' },
    { value: 1.0015e300, written: `10015${'0'.repeat(296)}`, why: 'never an exponent, even from 1e21 up' },
    { value: -1.234567890123456e22, written: '-12345678901234600000000', why: 'a large negative number' },
  ])('$why: $value → $written', ({ value, written }) => {
    expect(formatNumber(value)).toBe(written);
  });
});
