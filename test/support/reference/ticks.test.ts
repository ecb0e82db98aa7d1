// Hand-computed cases for the reference tick reader (SPEC §6.1, §9 "Tick input").
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { referenceReadTicks, type RefTickFile, type RefTickOptions } from './ticks.js';

const fixture = (name: string): RefTickFile => ({
  name,
  text: readFileSync(fileURLToPath(new URL(`../../../fixtures/ticks/${name}`, import.meta.url)), 'utf8'),
});
const EURUSD: RefTickOptions = { defaultMarket: 'EURUSD', knownMarkets: new Set(['EURUSD']) };
const DAX = 'IX.D.DAX.DAILY.IP';
/** Date.parse of a `Z` time: an independent check of the ISO arithmetic. */
const at = (iso: string): number => Date.parse(iso);
const times = (files: RefTickFile[], options: RefTickOptions = EURUSD): number[] =>
  referenceReadTicks(files, options).ticks.map((t) => t.time);
const text = (name: string, body: string): RefTickFile => ({ name, text: body });

describe('fixtures', () => {
  it('blank lines (even of spaces) are not rows; a bad price is', () => {
    const r = referenceReadTicks([fixture('EURUSD-blank-lines.csv')], EURUSD);
    expect(r.ticks).toEqual([
      { time: at('2024-01-02T08:00:00.000Z'), market: 'EURUSD', bid: 1.1025, ask: 1.10253 },
      { time: at('2024-01-02T08:00:00.100Z'), market: 'EURUSD', bid: 1.10251, ask: 1.10254 },
      { time: at('2024-01-02T08:00:00.300Z'), market: 'EURUSD', bid: 1.10252, ask: 1.10255 },
    ]);
    expect([r.skipped, r.ignored]).toEqual([1, 0]);
  });

  it('CRLF, a crossed row, padded values trimmed', () => {
    const r = referenceReadTicks([fixture('EURUSD-crlf.csv')], EURUSD);
    expect(r.ticks.map((t) => t.time)).toEqual(
      ['00.000', '00.100', '00.300', '00.400'].map((s) => at(`2024-01-02T08:00:${s}Z`)),
    );
    expect(r.ticks[2]).toEqual({ time: at('2024-01-02T08:00:00.300Z'), market: 'EURUSD', bid: 1.10252, ask: 1.10255 });
    expect(r.skipped).toBe(1);
  });

  it('epoch ms: timestamp header, equal time accepted, earlier and exponent skipped', () => {
    const r = referenceReadTicks([fixture('EURUSD-epoch-ms.csv')], EURUSD);
    expect(r.ticks.map((t) => t.time)).toEqual([1704182400000, 1704182400250, 1704182400250, 1704182401000]);
    expect(r.skipped).toBe(2);
  });

  it('malformed: 10 rows skipped, bid = ask at an equal time accepted', () => {
    const r = referenceReadTicks([fixture('EURUSD-malformed.csv')], EURUSD);
    expect(r.ticks).toEqual([
      { time: at('2024-01-02T08:00:00.000Z'), market: 'EURUSD', bid: 1.1025, ask: 1.10253 },
      { time: at('2024-01-02T08:00:00.000Z'), market: 'EURUSD', bid: 1.10252, ask: 1.10252 },
      { time: at('2024-01-02T08:00:01.000Z'), market: 'EURUSD', bid: 1.10253, ask: 1.10256 },
    ]);
    expect(r.skipped).toBe(10);
  });

  it('quoted fields, a comma and a line break inside quotes', () => {
    const r = referenceReadTicks([fixture('EURUSD-quoted.csv')], EURUSD);
    expect(r.ticks.map((t) => t.time)).toEqual(
      ['00.000', '00.100', '00.200', '00.300', '00.500'].map((s) => at(`2024-01-02T08:00:${s}Z`)),
    );
    expect(r.skipped).toBe(1);
  });

  it('no zone: UTC by default', () => {
    expect(times([fixture('EURUSD-no-zone.csv')])).toEqual(
      [
        '2024-03-31T00:30:00Z',
        '2024-03-31T01:30:00Z',
        '2024-03-31T02:30:00Z',
        '2024-10-27T00:30:00Z',
        '2024-10-27T01:30:00Z',
        '2024-10-27T02:30:00Z',
      ].map(at),
    );
  });

  it('no zone in Europe/London: a skipped wall time moves forward, a doubled one is the earlier', () => {
    expect(times([fixture('EURUSD-no-zone.csv')], { ...EURUSD, timezone: 'Europe/London' })).toEqual(
      [
        '2024-03-31T00:30:00Z', // GMT
        '2024-03-31T01:30:00Z', // 01:30 does not exist: 02:30 BST
        '2024-03-31T01:30:00Z', // 02:30 BST, an equal time is in order
        '2024-10-26T23:30:00Z', // 00:30 BST
        '2024-10-27T00:30:00Z', // 01:30 twice: BST, the earlier
        '2024-10-27T02:30:00Z', // GMT
      ].map(at),
    );
  });

  it('no zone in Europe/Berlin', () => {
    expect(times([fixture('EURUSD-no-zone.csv')], { ...EURUSD, timezone: 'Europe/Berlin' })).toEqual(
      [
        '2024-03-30T23:30:00Z',
        '2024-03-31T00:30:00Z',
        '2024-03-31T01:30:00Z', // 02:30 does not exist: 03:30 CEST
        '2024-10-26T22:30:00Z',
        '2024-10-26T23:30:00Z',
        '2024-10-27T00:30:00Z', // 02:30 twice: CEST, the earlier
      ].map(at),
    );
  });

  it('multi-market file with offsets, Z without fraction and a space separator', () => {
    const both = { knownMarkets: new Set(['EURUSD', DAX]) };
    const r = referenceReadTicks([fixture('multi-good.csv')], both);
    expect(r.ticks.map((t) => [t.time, t.market])).toEqual([
      [at('2024-01-02T08:00:00.000Z'), 'EURUSD'],
      [at('2024-01-02T08:00:00.000Z'), DAX],
      [at('2024-01-02T08:00:00.250Z'), 'EURUSD'],
      [at('2024-01-02T08:00:00.500Z'), DAX],
      [at('2024-01-02T08:00:01.000Z'), 'EURUSD'],
      [at('2024-01-02T08:00:01.750Z'), DAX],
      [at('2024-01-02T08:00:02.000Z'), 'EURUSD'],
    ]);
    expect([r.skipped, r.ignored]).toEqual([0, 0]);
    const onlyEur = referenceReadTicks([fixture('multi-good.csv')], { knownMarkets: new Set(['EURUSD']) });
    expect([onlyEur.ticks.length, onlyEur.skipped, onlyEur.ignored]).toEqual([4, 0, 3]);
  });

  it('the market column wins over the default market', () => {
    const r = referenceReadTicks([fixture('IX.D.DAX.DAILY.IP-trailing.csv')], {
      defaultMarket: 'EURUSD',
      knownMarkets: new Set([DAX]),
    });
    expect(r.ticks.map((t) => [t.bid, t.ask])).toEqual([
      [100, 101],
      [111, 112],
      [115, 116],
      [109, 110],
      [120, 121],
      [134, 136],
      [124, 125],
    ]);
  });
});

describe('rows', () => {
  const one = (row: string, options: RefTickOptions = EURUSD) => {
    const r = referenceReadTicks([text('t.csv', `time,bid,ask\n${row}\n`)], options);
    return r.ticks.length === 1 ? 'accepted' : r.skipped === 1 ? 'skipped' : r.ignored === 1 ? 'ignored' : 'none';
  };
  it.each([
    ['2024-01-02T08:00:00Z,1,2', 'accepted', 'plain'],
    ['2024-01-02T08:00:00.5Z,1,2', 'accepted', 'one fraction digit'],
    ['2024-01-02T08:00:00.1234Z,1,2', 'skipped', 'four fraction digits'],
    ['2024-01-02T08:00Z,1,2', 'skipped', 'no seconds'],
    ['2024-01-02t08:00:00z,1,2', 'skipped', 'lower-case t and z'],
    ['2024-01-02T08:00:00+0100,1,2', 'skipped', '±HHMM offset'],
    ['2024-01-02T24:00:00Z,1,2', 'skipped', 'hour 24'],
    ['2024-01-02T08:00:60Z,1,2', 'skipped', 'leap second'],
    ['2023-02-29T08:00:00Z,1,2', 'skipped', 'not a leap year'],
    ['2024-02-29T08:00:00Z,1,2', 'accepted', 'leap day'],
    ['20240102T080000Z,1,2', 'skipped', 'basic format'],
    ['-1704182400000,1,2', 'skipped', 'signed epoch'],
    ['1704182400000.0,1,2', 'skipped', 'epoch with a point'],
    ['01704182400000,1,2', 'accepted', 'epoch with a leading zero'],
    ['8640000000000001,1,2', 'skipped', 'beyond the JS time range'],
    ['1704182400000,1e0,2', 'skipped', 'exponent'],
    ['1704182400000,.5,2', 'skipped', 'no integer digit'],
    ['1704182400000,1.,2', 'skipped', 'trailing point'],
    ['1704182400000,+1,2', 'accepted', 'plus sign'],
    ['1704182400000,-0,2', 'skipped', 'negative zero'],
    ['1704182400000,0.000,2', 'skipped', 'zero'],
    ['1704182400000,2.0,2', 'accepted', 'bid = ask written differently'],
    ['1704182400000,2.0000000000000000001,2', 'skipped', 'crossed beyond double precision'],
    ['1704182400000,1,2,', 'skipped', 'one field too many'],
    ['"1704182400000" , "1" ,2', 'accepted', 'quoted with spaces around'],
    ['"1704182400000"x,1,2', 'skipped', 'text after the closing quote'],
    ['1704182400000,1,2"', 'skipped', 'stray quote'],
    [',,', 'skipped', 'only commas'],
  ])('%s → %s (%s)', (row, expected) => {
    expect(one(row)).toBe(expected);
  });

  it('rows of other markets: ignored when good, skipped when not, out of order included (decisions.md 36)', () => {
    const r = referenceReadTicks(
      [
        text(
          'm.csv',
          [
            'Market,Time,Bid,Ask',
            'EURUSD,1000,1,2',
            'GBPUSD,2000,1,2', // ignored
            'GBPUSD,1000,1,2', // earlier than the GBPUSD row before: skipped
            'GBPUSD,1000,3,2', // crossed: skipped
            'GBPUSD,x,1,2', // malformed: skipped
            ',1000,1,2', // empty market: skipped
            'EURUSD,999,1,2', // earlier: skipped
          ].join('\n'),
        ),
      ],
      EURUSD,
    );
    expect([r.ticks.length, r.skipped, r.ignored]).toEqual([1, 5, 1]);
  });

  it('order is per market and per file; merge by time, then file order, then line order', () => {
    const a = text('a.csv', 'epic,timestamp,bid,ask\nEURUSD,300,1,2\nDAX,100,1,2\nEURUSD,200,9,9\n');
    const b = text('b.csv', 'time,bid,ask\n100,5,6\n300,5,6\n250,5,6\n');
    const r = referenceReadTicks([a, b], { defaultMarket: 'EURUSD', knownMarkets: new Set(['EURUSD', 'DAX']) });
    // a.csv's 300 EURUSD then 100 DAX (in order per market) are sorted by time with b's ticks.
    expect(r.ticks.map((t) => `${t.time}/${t.market}/${t.bid}`)).toEqual([
      '100/DAX/1',
      '100/EURUSD/5',
      '300/EURUSD/1',
      '300/EURUSD/5',
    ]);
    expect(r.skipped).toBe(2);
  });

  it('header: trimmed, case-insensitive, extra columns; file errors throw', () => {
    expect(times([text('h.csv', '\r\n "TIME" ,x, Bid ,ASK\r\n1,a,1,2\r\n')])).toEqual([1]);
    expect(() => referenceReadTicks([text('h.csv', 'time,bid\n1,1\n')], EURUSD)).toThrow();
    expect(() => referenceReadTicks([text('h.csv', 'time,timestamp,bid,ask\n')], EURUSD)).toThrow();
    expect(() =>
      referenceReadTicks([text('h.csv', 'time,bid,ask\n1,1,2\n')], { knownMarkets: new Set(['EURUSD']) }),
    ).toThrow();
    expect(referenceReadTicks([text('e.csv', '\n  \n')], EURUSD)).toEqual({ ticks: [], skipped: 0, ignored: 0 });
  });

  it('an unclosed quote makes the rest of the file one malformed row', () => {
    const r = referenceReadTicks([text('q.csv', 'time,bid,ask\n1,1,2\n"2,1,2\n3,1,2\n')], EURUSD);
    expect([r.ticks.length, r.skipped]).toEqual([1, 1]);
  });
});
