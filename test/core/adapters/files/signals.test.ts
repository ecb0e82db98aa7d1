import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadSignals, parseSignals, parseTimestamp } from '../../../../src/core/adapters/files/signals.js';
import { UserError } from '../../../../src/core/domain/errors.js';

const FIXTURE = resolve(import.meta.dirname, '../../../../fixtures/signals/dax-signals.csv');
const DAX = 'IX.D.DAX.DAILY.IP';
const HEADER = 'time,market,direction,size,stopPoints,limitPoints,strategy';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailguard-signals-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function errorOf(text: string, file = 'signals.csv'): string {
  try {
    parseSignals(text, file);
  } catch (error) {
    expect(error, 'a bad signals file is a UserError (exit 2)').toBeInstanceOf(UserError);
    return (error as UserError).message;
  }
  throw new Error('expected the signals file to be rejected');
}

describe('loadSignals', () => {
  it('reads the DAX fixture, sorted by time with file order kept for ties', async () => {
    expect(await loadSignals(FIXTURE)).toEqual([
      // 08:05Z twice: the BUY of line 2 stays before the SELL of line 7.
      {
        time: Date.parse('2024-03-04T08:05:00Z'),
        market: DAX,
        direction: 'BUY',
        size: 1,
        stopPoints: 40,
        limitPoints: 80,
        strategy: 'scalper',
      },
      { time: Date.parse('2024-03-04T08:05:00Z'), market: DAX, direction: 'SELL', size: 1 },
      // 09:30+01:00 is 08:30Z.
      { time: Date.parse('2024-03-04T08:30:00Z'), market: DAX, direction: 'SELL', size: 0.5, strategy: 'scalper' },
      // Epoch milliseconds 1709546400000 = 10:00Z.
      { time: 1_709_546_400_000, market: DAX, direction: 'BUY', size: 2, stopPoints: 25 },
      {
        time: Date.parse('2024-03-04T14:15:30.250Z'),
        market: DAX,
        direction: 'SELL',
        size: 1,
        stopPoints: 30,
        limitPoints: 60,
        strategy: 'swing',
      },
    ]);
  });

  it('names the file when it does not exist', async () => {
    const file = join(dir, 'missing.csv');
    await expect(loadSignals(file)).rejects.toThrow(`signals file not found: ${file}`);
    await expect(loadSignals(file)).rejects.toBeInstanceOf(UserError);
  });

  it('reads zone-less times in the zone it is given', async () => {
    const file = join(dir, 'local.csv');
    await writeFile(file, 'time,market,direction,size\n2024-07-01T09:00:00,DAX,BUY,1\n');
    expect((await loadSignals(file, { timezone: 'Europe/Berlin' }))[0]?.time).toBe(Date.parse('2024-07-01T07:00:00Z'));
    expect((await loadSignals(file))[0]?.time, 'zone-less ISO is UTC by default').toBe(
      Date.parse('2024-07-01T09:00:00Z'),
    );
  });
});

describe('parseSignals', () => {
  it.each([
    [
      ' Time , MARKET ,Direction, Size \n2024-01-02T10:00:00Z,DAX,buy,1\n',
      'header names are trimmed and case-insensitive; directions too',
    ],
    ['timestamp,epic,direction,size\n2024-01-02T10:00:00Z,DAX,BUY,1\n', 'the tick files’ aliases for time and market'],
    ['time,market,direction,size\n\n2024-01-02T10:00:00Z,DAX,BUY,1\n\n', 'blank lines are ignored'],
    [
      '\uFEFFtime,market,direction,size\r\n2024-01-02T10:00:00Z,DAX,BUY,1\r\n',
      'a BOM and CRLF line ends (spreadsheet exports)',
    ],
    ['size,direction,market,time\n1,BUY,DAX,2024-01-02T10:00:00Z\n', 'columns in any order'],
  ])('accepts %j (%s)', (text) => {
    expect(parseSignals(text, 'signals.csv')).toEqual([
      { time: Date.parse('2024-01-02T10:00:00Z'), market: 'DAX', direction: 'BUY', size: 1 },
    ]);
  });

  it('reads stop_points / limit_points spelt with underscores', () => {
    const rows = parseSignals('time,market,direction,size,stop_points,limit_points\n0,DAX,SELL,1,12.5,30\n', 'x.csv');
    expect(rows).toEqual([{ time: 0, market: 'DAX', direction: 'SELL', size: 1, stopPoints: 12.5, limitPoints: 30 }]);
  });

  it('takes 0 points for a stop or limit, as SPEC allows (at the entry price, widened to minStopDistance)', () => {
    const rows = parseSignals('time,market,direction,size,stopPoints,limitPoints\n0,DAX,BUY,1,0,-0\n', 'x.csv');
    expect(rows).toEqual([{ time: 0, market: 'DAX', direction: 'BUY', size: 1, stopPoints: 0, limitPoints: 0 }]);
    expect(Object.is(rows[0]?.limitPoints, -0)).toBe(false);
  });

  it('reads a row that leaves out trailing optional fields (SPEC §5 brackets them) as if they were empty', () => {
    const rows = parseSignals(
      `${HEADER}\n2024-01-02T10:00:00Z,DAX,BUY,1\n2024-01-02T10:00:01Z,DAX,SELL,2,15\n`,
      'x.csv',
    );
    expect(rows).toEqual([
      { time: Date.parse('2024-01-02T10:00:00Z'), market: 'DAX', direction: 'BUY', size: 1 },
      { time: Date.parse('2024-01-02T10:00:01Z'), market: 'DAX', direction: 'SELL', size: 2, stopPoints: 15 },
    ]);
  });

  it('returns no signals for a header alone', () => {
    expect(parseSignals(`${HEADER}\n`, 'x.csv')).toEqual([]);
  });

  const row = (fields: string) => `${HEADER}\n2024-01-02T10:00:00Z,DAX,BUY,1,,,\n${fields}\n`;
  it.each([
    [row('yesterday,DAX,BUY,1,,,'), 'signals.csv:3: time: got "yesterday"', 'ISO-8601', 'a time in words'],
    [
      row('2024-02-30T10:00:00Z,DAX,BUY,1,,,'),
      'signals.csv:3: time: got "2024-02-30T10:00:00Z"',
      'ISO-8601',
      'no 30th of February',
    ],
    [row('2024-01-02T25:00:00Z,DAX,BUY,1,,,'), 'signals.csv:3: time: got', 'ISO-8601', 'hour out of range'],
    [row('1.7e12,DAX,BUY,1,,,'), 'signals.csv:3: time: got "1.7e12"', 'epoch milliseconds', 'epoch ms are digits only'],
    [row('2024-01-02T10:00:00Z,,BUY,1,,,'), 'signals.csv:3: market: got ""', 'a market id', 'no market'],
    [
      row('2024-01-02T10:00:00Z,DAX,LONG,1,,,'),
      'signals.csv:3: direction: got "LONG"',
      'BUY or SELL',
      'LONG is not a direction',
    ],
    [row('2024-01-02T10:00:00Z,DAX,BUY,0,,,'), 'signals.csv:3: size: got "0"', 'a number > 0', 'zero size'],
    [row('2024-01-02T10:00:00Z,DAX,BUY,,,,'), 'signals.csv:3: size: got ""', 'a number > 0', 'size is required'],
    [row('2024-01-02T10:00:00Z,DAX,BUY,one,,,'), 'signals.csv:3: size: got "one"', 'a number > 0', 'size in words'],
    [
      row('2024-01-02T10:00:00Z,DAX,BUY,1,-5,,'),
      'signals.csv:3: stopPoints: got "-5"',
      'points ≥ 0, or empty',
      'negative stop',
    ],
    [
      row('2024-01-02T10:00:00Z,DAX,BUY,1,,NaN,'),
      'signals.csv:3: limitPoints: got "NaN"',
      'points ≥ 0, or empty',
      'NaN is not a number',
    ],
    [
      row('2024-01-02T10:00:00Z,DAX,BUY'),
      'signals.csv:3: expected 7 fields as in the header (at least up to size), got 3',
      '',
      'a row short of a required field',
    ],
    [
      row('2024-01-02T10:00:00Z,DAX,BUY,1,,,,'),
      'signals.csv:3: expected 7 fields as in the header, got 8',
      '',
      'a long row',
    ],
    [`${HEADER}\n"2024-01-02,DAX,BUY,1,,,\n`, 'signals.csv', 'Quote Not Closed', 'an unclosed quote'],
    [
      'time,market,side,size\n',
      'signals.csv:1: unknown column "side"',
      'time, market, direction, size',
      'a column it does not know',
    ],
    [
      'time,market,size\n',
      'signals.csv:1: the header lacks direction',
      'expected time, market',
      'a required column is missing',
    ],
    ['time,market,direction,size,size\n', 'signals.csv:1: column "size" appears twice', '', 'a column twice'],
    [
      '2024-01-02T10:00:00Z,DAX,BUY,1\n',
      'signals.csv has no header',
      'the first line must name the columns',
      'data without a header',
    ],
    ['', 'signals.csv is empty', 'expected a header', 'an empty file'],
  ])('%#: rejects with "%s" (%s)', (text, where, expected) => {
    const message = errorOf(text);
    expect(message).toContain(where);
    expect(message).toContain(expected);
  });

  it('lists every bad row in one error, each with its line', () => {
    const text = [
      HEADER,
      '2024-01-02T10:00:00Z,DAX,BUY,1,,,',
      'x,DAX,BUY,1,,,',
      '2024-01-02T10:00:00Z,DAX,HOLD,1,,,',
      '2024-01-02T10:00:00Z,DAX,SELL,-1,,,',
    ].join('\n');
    const message = errorOf(text, 'dax.csv');
    expect(message).toContain('dax.csv has 3 bad rows');
    expect(message).toContain('dax.csv:3: time');
    expect(message).toContain('dax.csv:4: direction');
    expect(message).toContain('dax.csv:5: size');
  });

  it('counts, rather than lists, problems beyond the first twenty', () => {
    const bad = Array.from({ length: 25 }, () => 'x,DAX,BUY,1,,,');
    const message = errorOf([HEADER, ...bad].join('\n'));
    expect(message).toContain('has 25 bad rows');
    expect(message).toContain('… and 5 more');
  });

  it('sorts by time and keeps file order for equal times', () => {
    const text = [
      'time,market,direction,size,strategy',
      '2024-01-02T10:00:02Z,DAX,BUY,1,c',
      '2024-01-02T10:00:01Z,DAX,BUY,1,a',
      '2024-01-02T10:00:02Z,DAX,BUY,1,d',
      '2024-01-02T11:00:01+01:00,DAX,BUY,1,b',
    ].join('\n');
    expect(parseSignals(text, 'x.csv').map((signal) => signal.strategy)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses an unknown time zone option', () => {
    expect(() => parseSignals(`${HEADER}\n`, 'x.csv', { timezone: 'Mars/Olympus' })).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });
});

describe('parseTimestamp', () => {
  it.each([
    ['2024-03-04T08:05:00Z', undefined, Date.UTC(2024, 2, 4, 8, 5), 'UTC with Z'],
    ['2024-03-04T08:05:00z', undefined, Date.UTC(2024, 2, 4, 8, 5), 'lower-case z'],
    ['2024-03-04T09:05:00+01:00', undefined, Date.UTC(2024, 2, 4, 8, 5), 'offset with colon'],
    ['2024-03-04T03:05:00-0500', undefined, Date.UTC(2024, 2, 4, 8, 5), 'offset without colon'],
    ['2024-03-04 08:05:00Z', undefined, Date.UTC(2024, 2, 4, 8, 5), 'space instead of T'],
    ['2024-03-04T08:05Z', undefined, Date.UTC(2024, 2, 4, 8, 5), 'no seconds'],
    [
      '2024-03-04T08:05:00.123456Z',
      undefined,
      Date.UTC(2024, 2, 4, 8, 5, 0, 123),
      'sub-millisecond digits are dropped',
    ],
    ['2024-03-04T08:05:00.5Z', undefined, Date.UTC(2024, 2, 4, 8, 5, 0, 500), 'one fraction digit is tenths'],
    ['2024-03-04T08:05:00', undefined, Date.UTC(2024, 2, 4, 8, 5), 'zone-less is UTC'],
    ['2024-03-04', undefined, Date.UTC(2024, 2, 4), 'a date is its midnight'],
    ['1709539500000', undefined, 1_709_539_500_000, 'epoch milliseconds'],
    ['2024-03-04T09:05:00', 'Europe/Berlin', Date.UTC(2024, 2, 4, 8, 5), 'zone-less in CET (winter)'],
    ['2024-07-04T10:05:00', 'Europe/Berlin', Date.UTC(2024, 6, 4, 8, 5), 'zone-less in CEST (summer)'],
    [
      '2024-10-27T01:30:00',
      'Europe/London',
      Date.UTC(2024, 9, 27, 0, 30),
      'the repeated autumn hour takes its first reading',
    ],
    ['2024-03-31T01:30:00', 'Europe/London', Date.UTC(2024, 2, 31, 1, 30), 'a time in the spring gap lands after it'],
    [
      '2024-03-04T09:05:00+01:00',
      'America/New_York',
      Date.UTC(2024, 2, 4, 8, 5),
      'a written zone wins over the option',
    ],
  ])('%s in %s → %d (%s)', (text, zone, expected, _reason) => {
    expect(parseTimestamp(text, zone)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['2024-13-01T00:00:00Z', 'month 13'],
    ['2023-02-29T00:00:00Z', 'not a leap year'],
    ['2024-03-04T08:60:00Z', 'minute 60'],
    ['2024-03-04T08:05:00+25:00', 'offset out of range'],
    ['-1000', 'negative epoch'],
    ['12.5', 'fractional epoch'],
    ['March 4 2024', 'words'],
  ])('rejects %j (%s)', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});
