import { readFile, stat } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openTickSource } from '../../../../../src/core/adapters/files/ticks/index.js';
import { UserError } from '../../../../../src/core/domain/errors.js';
import { fixture, readAll, readError, TempDir } from './read-all.js';

const DAX = 'IX.D.DAX.DAILY.IP';
const tmp = new TempDir();
beforeAll(() => tmp.create());
afterAll(() => tmp.remove());

const ENGINES = ['fast', 'csv'] as const;

describe('standard format', () => {
  it('reads a multi-market file in file order, with offsets, no ms, and space separators', async () => {
    const { ticks, stats } = await readAll({ files: [fixture('multi-good.csv')] });
    expect(ticks).toEqual([
      { time: '2024-01-02T08:00:00.000Z', market: 'EURUSD', bid: 1.1025, ask: 1.10253 },
      { time: '2024-01-02T08:00:00.000Z', market: DAX, bid: 16720.5, ask: 16721.7 },
      { time: '2024-01-02T08:00:00.250Z', market: 'EURUSD', bid: 1.10251, ask: 1.10254 },
      { time: '2024-01-02T08:00:00.500Z', market: DAX, bid: 16721, ask: 16722.2 }, // 09:00:00.500+01:00
      { time: '2024-01-02T08:00:01.000Z', market: 'EURUSD', bid: 1.10252, ask: 1.10252 }, // bid = ask is accepted
      { time: '2024-01-02T08:00:01.750Z', market: DAX, bid: 16722.4, ask: 16723.6 },
      { time: '2024-01-02T08:00:02.000Z', market: 'EURUSD', bid: 1.10003, ask: 1.10006 }, // 03:00:02-05:00
    ]);
    expect(stats).toEqual({
      accepted: 7,
      skipped: { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 },
      ignored: 0,
      firstSkipped: [],
    });
  });

  it('parses EURUSD 5-decimal prices to the exact JS numbers', async () => {
    const { ticks } = await readAll({ files: [fixture('multi-good.csv')] });
    // Exactness matters: SPEC §9 wants (1.10253 − 1.10003) / 0.0001 to round to 25.
    expect(Object.is(ticks[0]!.ask, 1.10253)).toBe(true);
    expect(Object.is(ticks[6]!.bid, 1.10003)).toBe(true);
  });

  it.each(ENGINES)('skips and reports each kind of bad row with file, line and message (%s)', async (engine) => {
    const file = fixture('EURUSD-malformed.csv');
    const { ticks, stats } = await readAll({ files: [file], defaultMarket: 'EURUSD', engine, maxReported: 20 });
    expect(ticks.map((t) => t.time)).toEqual([
      '2024-01-02T08:00:00.000Z',
      '2024-01-02T08:00:00.000Z', // line 12: same time as line 2 is in order
      '2024-01-02T08:00:01.000Z',
    ]);
    expect(stats.skipped).toEqual({ malformed: 6, crossed: 1, nonPositive: 2, outOfOrder: 1 });
    expect(stats.firstSkipped.map(({ line, kind, message }) => [line, kind, message])).toEqual([
      [3, 'malformed', 'expected 3 fields, found 2'],
      [4, 'malformed', 'expected 3 fields, found 4'],
      [5, 'malformed', 'unparsable time "yesterday"'],
      [6, 'malformed', 'unparsable bid "1.1O251"'],
      [7, 'malformed', 'empty ask field'],
      [8, 'crossed', 'crossed quote (bid 1.1026 > ask 1.10254)'],
      [9, 'nonPositive', 'non-positive price (bid 0, ask 1.10254)'],
      [10, 'nonPositive', 'non-positive price (bid -1.10251, ask 1.10254)'],
      [
        11,
        'outOfOrder',
        'time 2024-01-02T07:59:59.999Z is earlier than the previous EURUSD tick at line 2 (2024-01-02T08:00:00.000Z)',
      ],
      [13, 'malformed', 'unparsable time "2024-02-30T08:00:00.000Z"'],
    ]);
    expect(stats.firstSkipped.every((row) => row.file === file)).toBe(true);
  });

  it('keeps only maxReported skipped rows but counts them all', async () => {
    const { stats } = await readAll({
      files: [fixture('EURUSD-malformed.csv')],
      defaultMarket: 'EURUSD',
      maxReported: 2,
    });
    expect(stats.firstSkipped.map((row) => row.line)).toEqual([3, 4]);
    expect(stats.skipped.malformed).toBe(6);
  });

  it('ignores blank and whitespace-only lines but counts them for line numbers', async () => {
    const { ticks, stats } = await readAll({ files: [fixture('EURUSD-blank-lines.csv')], defaultMarket: 'EURUSD' });
    expect(ticks).toHaveLength(3);
    expect(stats.firstSkipped.map(({ line, message }) => [line, message])).toEqual([[9, 'unparsable bid "oops"']]);
  });

  it('reads CRLF files, with spaces around fields', async () => {
    const bytes = await readFile(fixture('EURUSD-crlf.csv'));
    expect(bytes.includes('\r\n'), 'the fixture must keep its CRLF line ends').toBe(true);
    const { ticks, stats } = await readAll({ files: [fixture('EURUSD-crlf.csv')], defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => [t.time, t.bid, t.ask])).toEqual([
      ['2024-01-02T08:00:00.000Z', 1.1025, 1.10253],
      ['2024-01-02T08:00:00.100Z', 1.10251, 1.10254],
      ['2024-01-02T08:00:00.300Z', 1.10252, 1.10255],
      ['2024-01-02T08:00:00.400Z', 1.10253, 1.10256],
    ]);
    expect(stats.firstSkipped.map(({ line, kind }) => [line, kind])).toEqual([[5, 'crossed']]);
  });

  it('reads epoch ms, a trimmed case-insensitive header and extra columns', async () => {
    const { ticks, stats } = await readAll({ files: [fixture('EURUSD-epoch-ms.csv')], defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => [t.time, t.bid])).toEqual([
      ['2024-01-02T08:00:00.000Z', 1.1025],
      ['2024-01-02T08:00:00.250Z', 1.10251],
      ['2024-01-02T08:00:00.250Z', 1.10252], // an empty ignored column is fine
      ['2024-01-02T08:00:01.000Z', 1.10253],
    ]);
    expect(stats.firstSkipped.map(({ line, kind }) => [line, kind])).toEqual([
      [6, 'outOfOrder'],
      [7, 'malformed'], // 1.70418240e12: epoch ms are digits only
    ]);
  });

  it('reads ISO times without a zone as UTC by default', async () => {
    const { ticks } = await readAll({ files: [fixture('EURUSD-no-zone.csv')], defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => t.time)).toEqual([
      '2024-03-31T00:30:00.000Z',
      '2024-03-31T01:30:00.000Z',
      '2024-03-31T02:30:00.000Z',
      '2024-10-27T00:30:00.000Z',
      '2024-10-27T01:30:00.000Z',
      '2024-10-27T02:30:00.000Z',
    ]);
  });

  it.each(ENGINES)('reads ISO times without a zone in the given timezone, DST-correct (%s)', async (engine) => {
    const { ticks, stats } = await readAll({
      files: [fixture('EURUSD-no-zone.csv')],
      defaultMarket: 'EURUSD',
      timezone: 'Europe/London',
      engine,
    });
    expect(ticks.map((t) => t.time)).toEqual([
      '2024-03-31T00:30:00.000Z', // 00:30 GMT
      '2024-03-31T01:30:00.000Z', // 01:30 does not exist: read as 02:30 BST
      '2024-03-31T01:30:00.000Z', // 02:30 BST
      '2024-10-26T23:30:00.000Z', // 00:30 BST
      '2024-10-27T00:30:00.000Z', // 01:30 happens twice: the first, BST
      '2024-10-27T02:30:00.000Z', // 02:30 GMT
    ]);
    expect(stats.accepted).toBe(6);
  });

  it('reads quoted fields, including a field spanning two lines, with the right line numbers', async () => {
    const { ticks, stats } = await readAll({ files: [fixture('EURUSD-quoted.csv')], defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => t.time)).toEqual([
      '2024-01-02T08:00:00.000Z',
      '2024-01-02T08:00:00.100Z',
      '2024-01-02T08:00:00.200Z',
      '2024-01-02T08:00:00.300Z',
      '2024-01-02T08:00:00.500Z',
    ]);
    expect(stats.firstSkipped.map(({ line, message }) => [line, message])).toEqual([[7, 'unparsable bid "1.1O254"']]);
  });

  it('uses the default market for files without a market column', async () => {
    const { ticks } = await readAll({ files: [fixture('EURUSD-crlf.csv')], defaultMarket: 'CS.D.EURUSD.MINI.IP' });
    expect(new Set(ticks.map((t) => t.market))).toEqual(new Set(['CS.D.EURUSD.MINI.IP']));
  });

  it('reads the lead demo fixture (IG DAX) without skipping anything', async () => {
    const { stats } = await readAll({ files: [fixture('IX.D.DAX.DAILY.IP-trailing.csv')] });
    expect(stats.accepted).toBeGreaterThan(0);
    expect(stats.skipped).toEqual({ malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 });
  });
});

describe('irregular CSV, both engines', () => {
  it.each(ENGINES)('an unclosed quote makes the rest of the file one malformed row (%s)', async (engine) => {
    const file = await tmp.write(
      `unclosed-${engine}.csv`,
      'time,bid,ask\n2024-01-02T08:00:00Z,1,2\n"2024-01-02T08:00:01Z,1,2\n2024-01-02T08:00:02Z,1,2\n',
    );
    const { ticks, stats } = await readAll({ files: [file], defaultMarket: 'EURUSD', engine });
    expect(ticks).toHaveLength(1);
    expect(stats.firstSkipped.map(({ line, message }) => [line, message])).toEqual([
      [3, 'a quote opened on this line is never closed (the rest of the file is part of this row)'],
    ]);
  });

  it.each(ENGINES)('counts lines by LF and CRLF; a lone CR does not end a line (%s)', async (engine) => {
    const file = await tmp.write(
      `lone-cr-${engine}.csv`,
      'time,bid,ask\r\n2024-01-02T08:00:00Z,1,2\rjunk\nbad,1,2\n2024-01-02T08:00:01Z,1,2',
    );
    const { ticks, stats } = await readAll({ files: [file], defaultMarket: 'EURUSD', engine });
    expect(ticks.map((t) => t.time)).toEqual(['2024-01-02T08:00:01.000Z']);
    expect(stats.firstSkipped.map(({ line, message }) => [line, message])).toEqual([
      [2, 'unparsable ask "2\\rjunk"'],
      [3, 'unparsable time "bad"'],
    ]);
  });

  it.each(ENGINES)('a line longer than 1 MiB stops the read with a UserError (%s)', async (engine) => {
    const file = await tmp.write(
      `long-${engine}.csv`,
      `time,bid,ask\n2024-01-02T08:00:00Z,1,2\n${'9'.repeat(1.5 * 2 ** 20)},1,2\n`,
    );
    const error = await readError({ files: [file], defaultMarket: 'EURUSD', engine });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(`${file}, line 3: line longer than 1 MiB`);
  });
});

describe('gzip', () => {
  it.each(ENGINES)('reads a .gz file like the plain file (%s)', async (engine) => {
    const plain = await readAll({ files: [fixture('multi-good.csv')] });
    const gz = await tmp.writeGz('multi.csv.gz', await readFile(fixture('multi-good.csv')));
    expect(await readAll({ files: [gz], engine })).toEqual(
      expect.objectContaining({ ticks: plain.ticks, stats: expect.objectContaining({ accepted: 7 }) }),
    );
  });

  it.each(ENGINES)(
    'a compressed file whose name does not say so: an error that says what it is, not its bytes (%s)',
    async (engine) => {
      const gz = await tmp.writeGz('gzipped.csv', await readFile(fixture('multi-good.csv')));
      const error = await readError({ files: [gz], engine });
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toBe(`${gz} is gzip-compressed, but its name does not end in .gz`);
      // A zip archive (HistData's downloads are zips): its local file header.
      const zip = await tmp.write('histdata.csv', `PK\u0003\u0004${'\u0000'.repeat(26)}DAT_ASCII_EURUSD_T_202401.csv`);
      const zipError = await readError({ files: [zip], format: 'histdata', defaultMarket: 'EURUSD', engine });
      expect(zipError.message).toBe(`${zip} is a zip archive, not a tick file`);
    },
  );

  it('reports a corrupt .gz as a UserError naming the file', async () => {
    const bad = await tmp.write('bad.csv.gz', 'time,bid,ask\nnot gzip at all\n');
    const error = await readError({ files: [bad], defaultMarket: 'EURUSD' });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain(bad);
  });
});

describe('histdata and dukascopy', () => {
  it('reads HistData ticks as EST (UTC−5, no DST) with the default market', async () => {
    const file = fixture('EURUSD-histdata.csv');
    const { ticks, stats } = await readAll({ files: [file], format: 'histdata', defaultMarket: 'EURUSD' });
    expect(ticks).toEqual([
      { time: '2024-01-02T22:00:00.123Z', market: 'EURUSD', bid: 1.1038, ask: 1.1039 },
      { time: '2024-01-02T22:00:00.456Z', market: 'EURUSD', bid: 1.10381, ask: 1.10391 },
      { time: '2024-01-02T22:00:02.999Z', market: 'EURUSD', bid: 1.10383, ask: 1.10393 },
      { time: '2024-07-03T17:00:00.000Z', market: 'EURUSD', bid: 1.075, ask: 1.07502 }, // July is still UTC−5
    ]);
    // No header: the first row is line 1; the blank line 5 still counts.
    expect(stats.firstSkipped.map(({ line, kind }) => [line, kind])).toEqual([
      [3, 'crossed'],
      [6, 'malformed'],
    ]);
  });

  it('reads a Dukascopy export, Ask before Bid, Gmt time as UTC even with a timezone', async () => {
    const { ticks, stats } = await readAll({
      files: [fixture('EURUSD-dukascopy.csv')],
      format: 'dukascopy',
      defaultMarket: 'EURUSD',
      timezone: 'Europe/Zurich',
    });
    expect(ticks).toEqual([
      { time: '2024-01-02T00:00:00.123Z', market: 'EURUSD', bid: 1.1025, ask: 1.10253 },
      { time: '2024-01-02T00:00:00.456Z', market: 'EURUSD', bid: 1.10251, ask: 1.10254 },
      { time: '2024-01-02T00:00:01.500Z', market: 'EURUSD', bid: 1.10253, ask: 1.10256 },
    ]);
    expect(stats.firstSkipped.map(({ line, kind }) => [line, kind])).toEqual([[4, 'crossed']]);
  });

  it('reads a Dukascopy local-time export through its GMT offset suffix', async () => {
    const file = await tmp.write(
      'duka-local.csv',
      'Local time,Ask,Bid,AskVolume,BidVolume\n02.01.2024 01:00:00.000 GMT+0100,1.10253,1.10250,1,1\n',
    );
    const { ticks } = await readAll({ files: [file], format: 'dukascopy', defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => t.time)).toEqual(['2024-01-02T00:00:00.000Z']);
  });

  it('reads the times of a Dukascopy local-time column without an offset in --timezone (UTC without it); an offset written wins', async () => {
    const file = await tmp.write(
      'duka-local-bare.csv',
      'Local time,Ask,Bid,AskVolume,BidVolume\n02.01.2024 01:00:00.000,1.10253,1.10250,1,1\n02.01.2024 01:00:01.000 GMT+0100,1.10253,1.10250,1,1\n',
    );
    const times = async (timezone: string | undefined) =>
      (await readAll({ files: [file], format: 'dukascopy', defaultMarket: 'EURUSD', timezone })).ticks.map(
        (t) => t.time,
      );
    expect(await times(undefined)).toEqual(['2024-01-02T01:00:00.000Z']); // the second row goes back in time: skipped
    expect(await times('Europe/Berlin')).toEqual(['2024-01-02T00:00:00.000Z', '2024-01-02T00:00:01.000Z']);
  });

  it('rejects a HistData file that has a header (wrong --format)', async () => {
    const error = await readError({ files: [fixture('multi-good.csv')], format: 'histdata', defaultMarket: 'EURUSD' });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/multi-good\.csv, line 1: HistData tick files have no header/);
  });
});

describe('strict mode', () => {
  it.each(ENGINES)('stops at the first bad row with a UserError naming file, line and problem (%s)', async (engine) => {
    const file = fixture('EURUSD-malformed.csv');
    const error = await readError({ files: [file], defaultMarket: 'EURUSD', strict: true, engine });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(`${file}, line 3: expected 3 fields, found 2`);
  });

  it.each(ENGINES)(
    'over several files, stops at the first bad row in replay order, not at the one the read-ahead meets first (%s)',
    async (engine) => {
      // a: good rows at 0–9 s, a crossed row at 10 s (line 12); b: from 100 s, a bad bid on line 3.
      const rows = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => `${from + i * 1000},1.1,1.2`).join('\n');
      const a = await tmp.write('strict-a.csv', `time,bid,ask\n${rows(0, 10)}\n10000,1.3,1.2\n${rows(11_000, 5)}\n`);
      const b = await tmp.write('strict-b.csv', `time,bid,ask\n100000,1.1,1.2\n101000,x,1.2\n`);
      for (const files of [
        [a, b],
        [b, a],
      ]) {
        const error = await readError({ files, defaultMarket: 'EURUSD', strict: true, engine });
        expect(error.message).toBe(`${a}, line 12: crossed quote (bid 1.3 > ask 1.2)`);
      }
    },
  );

  it('passes a clean file', async () => {
    const { stats } = await readAll({ files: [fixture('multi-good.csv')], strict: true });
    expect(stats.accepted).toBe(7);
  });
});

describe('input errors are UserErrors naming the file', () => {
  it.each([
    { content: 'time,bid\n2024-01-02T08:00:00Z,1\n', pattern: /no "ask" column/, why: 'missing ask column' },
    { content: 'when,bid,ask\n', pattern: /no "time" or "timestamp" column/, why: 'missing time column' },
    { content: '', pattern: /is empty: it has no header line/, why: 'empty file' },
    { content: '\n\n', pattern: /is empty: it has no header line/, why: 'only blank lines' },
  ])('$why', async ({ content, pattern }) => {
    const file = await tmp.write('bad-header.csv', content);
    for (const engine of ENGINES) {
      const error = await readError({ files: [file], defaultMarket: 'EURUSD', engine });
      expect(error, engine).toBeInstanceOf(UserError);
      expect(error.message, engine).toMatch(pattern);
      expect(error.message, engine).toContain(file);
    }
  });

  it('a file without market column needs a default market', async () => {
    const error = await readError({ files: [fixture('EURUSD-crlf.csv')] });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain('EURUSD-crlf.csv has no market (or epic) column');
  });

  it('histdata and dukascopy need a default market up front', () => {
    expect(() => openTickSource({ files: ['x.csv'], format: 'histdata', strict: false })).toThrow(UserError);
  });

  it('a missing file', async () => {
    const error = await readError({ files: [`${tmp.path}/nope.csv`] });
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(`tick file not found: ${tmp.path}/nope.csv`);
  });

  it('an unknown timezone', () => {
    expect(() =>
      openTickSource({ files: ['x.csv'], format: 'standard', strict: false, timezone: 'Nowhere/Land' }),
    ).toThrow(/unknown time zone "Nowhere\/Land"/);
  });
});

describe('several files', () => {
  it('merges by time; ties go to the earlier file, then the earlier line', async () => {
    const a = await tmp.write(
      'a.csv',
      [
        'time,market,bid,ask',
        '2024-01-02T08:00:00Z,A,1,2',
        '2024-01-02T08:00:01Z,A,3,4',
        '2024-01-02T08:00:01Z,A,5,6',
        '2024-01-02T08:00:03Z,A,7,8',
      ].join('\n'),
    );
    const b = await tmp.write(
      'b.csv',
      [
        'time,market,bid,ask',
        '2024-01-02T08:00:01Z,B,1,2',
        '2024-01-02T08:00:02Z,B,3,4',
        '2024-01-02T08:00:03Z,B,5,6',
      ].join('\n'),
    );
    const c = await tmp.write(
      'c.csv',
      ['time,market,bid,ask', '2024-01-02T08:00:00Z,C,1,2', '2024-01-02T08:00:01Z,C,3,4'].join('\n'),
    );
    for (const batchSize of [4096, 1, 2]) {
      const { ticks } = await readAll({ files: [b, a, c], batchSize });
      expect(
        ticks.map((t) => `${t.time.slice(17, 19)} ${t.market}${t.bid}`),
        `batchSize ${batchSize}`,
      ).toEqual([
        '00 A1', // 08:00:00: a before c (b has none)
        '00 C1',
        '01 B1', // 08:00:01: b (first on the command line), then a's two rows in line order, then c
        '01 A3',
        '01 A5',
        '01 C3',
        '02 B3',
        '03 B5', // 08:00:03: b before a
        '03 A7',
      ]);
    }
  });

  it('checks order per file: a later file may start before an earlier one ends', async () => {
    const day1 = await tmp.write('d1.csv', 'time,bid,ask\n2024-01-02T10:00:00Z,1,2\n2024-01-02T12:00:00Z,1,2\n');
    const day0 = await tmp.write('d0.csv', 'time,bid,ask\n2024-01-02T11:00:00Z,1,2\n2024-01-02T09:00:00Z,1,2\n');
    const { ticks, stats } = await readAll({ files: [day1, day0], defaultMarket: 'EURUSD' });
    expect(ticks.map((t) => t.time.slice(11, 13))).toEqual(['10', '11', '12']);
    expect(stats.firstSkipped).toEqual([
      {
        file: day0,
        line: 3,
        kind: 'outOfOrder',
        message:
          'time 2024-01-02T09:00:00.000Z is earlier than the previous EURUSD tick at line 2 (2024-01-02T11:00:00.000Z)',
      },
    ]);
  });

  it('reports the first skipped rows in file order, then line order', async () => {
    const x = await tmp.write('x.csv', 'time,bid,ask\nbad,1,2\nbad,1,2\n2024-01-02T10:00:00Z,1,2\n');
    const y = await tmp.write('y.csv', 'time,bid,ask\n2024-01-02T09:00:00Z,1,2\nbad,1,2\n');
    const { stats } = await readAll({ files: [y, x], defaultMarket: 'EURUSD', maxReported: 2 });
    expect(stats.firstSkipped.map((row) => [row.file, row.line])).toEqual([
      [y, 3],
      [x, 2],
    ]);
    expect(stats.skipped.malformed).toBe(3);
  });
});

describe('filters', () => {
  it('drops ticks outside [from, to) silently; they are neither accepted nor skipped', async () => {
    const { ticks, stats } = await readAll({
      files: [fixture('multi-good.csv')],
      from: Date.parse('2024-01-02T08:00:00.250Z'),
      to: Date.parse('2024-01-02T08:00:01.750Z'),
    });
    expect(ticks.map((t) => t.time)).toEqual([
      '2024-01-02T08:00:00.250Z',
      '2024-01-02T08:00:00.500Z',
      '2024-01-02T08:00:01.000Z',
    ]);
    expect(stats.accepted).toBe(3);
    expect(stats.ignored).toBe(0);
    expect(stats.skipped).toEqual({ malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 });
  });

  it.each([1, 4096])(
    'counts ticks of markets outside the configuration as ignored (batchSize %i)',
    async (batchSize) => {
      const source = openTickSource({
        files: [fixture('multi-good.csv')],
        format: 'standard',
        strict: false,
        knownMarkets: new Set([DAX]),
        batchSize,
      });
      let delivered = 0;
      for await (const batch of source.batches()) {
        for (let i = 0; i < batch.length; i++) expect(source.markets[batch.market[i]!]).toBe(DAX);
        delivered += batch.length;
      }
      expect(delivered).toBe(3);
      expect(source.markets).toEqual([DAX]);
      expect(source.stats()).toEqual(expect.objectContaining({ accepted: 3, ignored: 4 }));
    },
  );

  it('merges with filters: ignored counts ticks of every file', async () => {
    const { stats } = await readAll({
      files: [fixture('multi-good.csv'), fixture('EURUSD-crlf.csv')],
      defaultMarket: 'EURUSD',
      knownMarkets: new Set(['EURUSD']),
    });
    expect(stats).toEqual(expect.objectContaining({ accepted: 4 + 4, ignored: 3 }));
  });
});

describe('batches and progress', () => {
  it('never delivers more than batchSize ticks in a batch', async () => {
    const source = openTickSource({
      files: [fixture('IX.D.DAX.DAILY.IP-demo.csv')],
      format: 'standard',
      strict: false,
      batchSize: 1000,
    });
    let total = 0;
    for await (const batch of source.batches()) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(1000);
      total += batch.length;
    }
    expect(total).toBe(source.stats().accepted);
  });

  it('reports progress in bytes of the files as read from disk', async () => {
    const gz = await tmp.writeGz('progress.csv.gz', await readFile(fixture('multi-good.csv')));
    const files = [fixture('IX.D.DAX.DAILY.IP-demo.csv'), gz];
    const total = (await stat(files[0]!)).size + (await stat(gz)).size;
    const calls: [number, number][] = [];
    await readAll({ files, onProgress: (read, of) => calls.push([read, of]) });
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.at(-1)).toEqual([total, total]);
    expect(calls.every(([read, of], i) => of === total && (i === 0 || read >= calls[i - 1]![0]))).toBe(true);
  });

  it('stops cleanly when the consumer stops early', async () => {
    const source = openTickSource({
      files: [fixture('IX.D.DAX.DAILY.IP-demo.csv'), fixture('multi-good.csv')],
      format: 'standard',
      strict: false,
      batchSize: 10,
    });
    let seen = 0;
    for await (const batch of source.batches()) {
      seen += batch.length;
      if (seen >= 30) break;
    }
    expect(source.stats().accepted).toBe(30);
  });
});

describe('chunk boundaries', () => {
  it('a market name cut by a chunk boundary registers no partial market name', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openTickSource } = await import('../../../../../src/core/adapters/files/ticks/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'tg-chunk-'));
    const file = join(dir, 'multi.csv');
    const rows = ['time,market,bid,ask'];
    for (let i = 0; i < 200; i++)
      rows.push(`${1700000000000 + i},${i % 2 ? 'IX.D.DAX.DAILY.IP' : 'CS.D.EURUSD.MINI.IP'},${100 + i},${101 + i}`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    for (const chunkSize of [7, 13, 64]) {
      const source = openTickSource({ files: [file], format: 'standard', strict: true, chunkSize } as Parameters<
        typeof openTickSource
      >[0]);
      let n = 0;
      for await (const b of source.batches()) n += b.length;
      expect(n).toBe(200);
      expect([...source.markets].sort(), `chunk size ${chunkSize}`).toEqual([
        'CS.D.EURUSD.MINI.IP',
        'IX.D.DAX.DAILY.IP',
      ]);
    }
  });
});
