/**
 * Both tick readers (the byte-level one and csv-parse) against an independent implementation of
 * SPEC §6.1 and §9 "Tick input" (test/support/reference/ticks.ts, written from the spec without
 * reading src/): random standard-format files with good rows and every kind of bad one the spec
 * names, one to three files merged by time, give the same ticks, the same number of skipped rows
 * and the same number of ignored ones.
 *
 * The inputs stay within what the spec decides (times with a zone, without one, or epoch
 * milliseconds; plain decimal prices); the corners it leaves open (a space for the `T`, `1e2`,
 * `.5`) are the readers' own, and paths-agree.int.test.ts checks that the two readers agree there.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TicksNotInTimeOrder } from '../../../../../src/core/adapters/files/ticks/index.js';
import { referenceReadTicks } from '../../../../support/reference/ticks.js';
import { readAll, TempDir, type ReadResult } from './read-all.js';

const tmp = new TempDir();
beforeAll(() => tmp.create());
afterAll(() => tmp.remove());

const KNOWN = new Set(['EURUSD', 'IX.D.DAX.DAILY.IP']);
/** Starts just before the DST change in Berlin, so times without a zone cross it. */
const BASE = Date.parse('2024-03-31T00:59:30Z');

type Column = 'time' | 'market' | 'bid' | 'ask' | 'note';

const HEADER_NAMES: Record<Column, string[]> = {
  time: ['time', ' Time ', 'TIMESTAMP', 'timestamp'],
  market: ['market', 'Market', ' EPIC', 'epic'],
  bid: ['bid', 'Bid ', 'BID'],
  ask: ['ask', ' ASK', 'Ask'],
  note: ['note'],
};

const rowArb = fc.record({
  kind: fc.constantFrom(
    ...(['good', 'good', 'good', 'good', 'good', 'good', 'quoted', 'crossed', 'equal', 'zero', 'negative'] as const),
    ...(['badPrice', 'short', 'long', 'blank', 'earlier', 'unknown', 'badTime'] as const),
  ),
  dt: fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.constant(0)), // equal times are accepted (§9)
  timeShape: fc.integer({ min: 0, max: 4 }),
  market: fc.constantFrom('EURUSD', 'IX.D.DAX.DAILY.IP'),
  mid: fc.integer({ min: 10_000, max: 20_000 }),
  spread: fc.integer({ min: 0, max: 30 }),
  decimals: fc.integer({ min: 0, max: 5 }),
});

const fileArb = fc.record({
  columns: fc.shuffledSubarray(['time', 'bid', 'ask', 'market', 'note'] as Column[], { minLength: 5, maxLength: 5 }),
  withMarket: fc.boolean(),
  withNote: fc.boolean(),
  names: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  eol: fc.constantFrom('\n', '\r\n'),
  start: fc.integer({ min: 0, max: 3000 }),
  rows: fc.array(rowArb, { maxLength: 60 }),
  finalEol: fc.boolean(),
});

type RandomFile = typeof fileArb extends fc.Arbitrary<infer T> ? T : never;

/** A time in one of the shapes SPEC §6.1 and §9 define. */
function timeText(t: number, shape: number): string {
  const iso = new Date(t).toISOString();
  switch (shape) {
    case 0:
      return iso; // UTC with milliseconds
    case 1:
      return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso; // UTC, whole seconds
    case 2: {
      // +02:00: the same instant written two hours ahead
      const ahead = new Date(t + 2 * 3_600_000).toISOString();
      return ahead.replace('Z', '+02:00');
    }
    case 3:
      return String(t); // epoch milliseconds
    default:
      return iso.slice(0, -1); // no zone: read in the run's --timezone
  }
}

/** The file's text, with the columns in the file's order under varied header names. */
function render(file: RandomFile, timezoneOffsetOf: (t: number) => number): string {
  const columns = file.columns.filter((c) => (c !== 'market' || file.withMarket) && (c !== 'note' || file.withNote));
  const header = columns.map((c, i) => {
    const names = HEADER_NAMES[c];
    return names[(file.names[i] ?? 0) % names.length]!;
  });
  const lines = [header.join(',')];
  let t = BASE + file.start;
  for (const row of file.rows) {
    if (row.kind === 'blank') {
      lines.push('');
      continue;
    }
    t += row.dt;
    // A row dated before the last one of its market in this file (times only grow otherwise).
    // Rows of the unconfigured market are earlier than its last row half of the time: still skipped.
    const time = row.kind === 'earlier' || (row.kind === 'unknown' && row.mid % 2 === 0) ? t - 5000 : t;
    const scale = 10 ** row.decimals;
    const mid = row.mid / 100;
    let bid = (Math.round(mid * scale) / scale).toFixed(row.decimals);
    let ask = (Math.round((mid + row.spread / 100) * scale) / scale).toFixed(row.decimals);
    if (row.kind === 'crossed') [bid, ask] = [(Number(ask) + 1).toFixed(row.decimals), bid];
    if (row.kind === 'equal') ask = bid;
    if (row.kind === 'zero') bid = '0';
    if (row.kind === 'negative') bid = `-${bid}`;
    if (row.kind === 'badPrice') ask = 'n/a';
    // A zone-less time is local time in the run's zone: shift so that the instant stays `time`.
    const written =
      row.kind === 'badTime'
        ? '2024-13-01T00:00:00Z'
        : row.timeShape === 4
          ? new Date(time + timezoneOffsetOf(time)).toISOString().slice(0, -1)
          : timeText(time, row.timeShape);
    const values: Record<Column, string> = {
      time: written,
      market: row.kind === 'unknown' ? 'GBPUSD' : row.market,
      bid,
      ask,
      note: 'x',
    };
    let fields = columns.map((c) => values[c]);
    if (row.kind === 'short') fields = fields.slice(0, -1);
    if (row.kind === 'long') fields.push('extra');
    if (row.kind === 'quoted') fields = fields.map((f) => `"${f}"`);
    lines.push(fields.join(','));
  }
  return lines.join(file.eol) + (file.finalEol ? file.eol : '');
}

/** What is compared of a read: the ticks, and how many rows were skipped and ignored. */
function summary(read: ReadResult) {
  return {
    ticks: read.ticks,
    skipped: Object.values(read.stats.skipped).reduce((a, b) => a + b, 0),
    ignored: read.stats.ignored,
  };
}

/** Berlin's offset from UTC at instant t, in ms. */
function berlinOffset(t: number): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - Math.floor(t / 1000) * 1000;
}

describe('the tick readers against an independent implementation of SPEC §6.1 and §9', () => {
  it('same ticks, skipped and ignored counts for random files, alone and merged (property)', async () => {
    let n = 0;
    let accepted = 0;
    let skipped = 0;
    let unordered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fileArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(undefined, 'Europe/Berlin'),
        async (files, timezone) => {
          const offset = timezone === undefined ? () => 0 : berlinOffset;
          const texts = files.map((file) => render(file, offset));
          const paths: string[] = [];
          for (const text of texts) paths.push(await tmp.write(`ref-${n++}.csv`, text));
          const reference = referenceReadTicks(
            texts.map((text, i) => ({ name: paths[i]!, text })),
            { defaultMarket: 'EURUSD', knownMarkets: KNOWN, timezone },
          );
          const expected = {
            ticks: reference.ticks.map((t) => ({ ...t, time: new Date(t.time).toISOString() })),
            skipped: reference.skipped,
            ignored: reference.ignored,
          };
          for (const engine of ['fast', 'csv'] as const) {
            const read = (timeOrder: 'check' | 'sorted') =>
              readAll({
                files: paths,
                engine,
                defaultMarket: 'EURUSD',
                knownMarkets: KNOWN,
                timezone,
                maxReported: 0,
                timeOrder,
              });
            const label = `${engine} reader, files ${paths.join(' ')}`;
            // `check` order streams the ticks and must give the sorted ones, or report a file that
            // goes back in time from one market to another (then a backtest reads them `sorted`).
            let checked: ReadResult | undefined;
            try {
              checked = await read('check');
            } catch (error) {
              if (!(error instanceof TicksNotInTimeOrder)) throw error;
              unordered++;
            }
            if (checked !== undefined) expect(summary(checked), label).toEqual(expected);
            expect(summary(await read('sorted')), label).toEqual(expected);
          }
          accepted += expected.ticks.length;
          skipped += expected.skipped;
        },
      ),
      {
        numRuns: Number(process.env.RUNS ?? 600),
        seed: Number(process.env.SEED ?? 20261121),
        endOnFailure: process.env.TG_NO_SHRINK === '1',
      },
    );
    // Honest only if the files hold both: good rows read and bad rows skipped.
    expect(accepted).toBeGreaterThan(2000);
    expect(skipped).toBeGreaterThan(1000);
    expect(unordered, 'files out of time order across markets, read again sorted').toBeGreaterThan(50);
  }, 300_000);
});
