/**
 * The byte-level reader and the csv-parse path must read every file the same way: same ticks,
 * same stats, same skipped rows (kind, line, message). Checked over every fixture and its CRLF
 * and gzip variants, with chunk sizes that make lines straddle chunks, and over random messy files.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TickReadOptions } from '../../../../../src/core/adapters/files/ticks/index.js';
import { fixture, FIXTURES, readAll, TempDir, type ReadResult } from './read-all.js';

const tmp = new TempDir();
beforeAll(() => tmp.create());
afterAll(() => tmp.remove());

type Format = TickReadOptions['format'];

function formatOf(name: string): Format {
  if (name.includes('histdata')) return 'histdata';
  if (name.includes('dukascopy')) return 'dukascopy';
  return 'standard';
}

const FIXTURE_NAMES = readdirSync(FIXTURES).filter((name) => name.endsWith('.csv'));

async function outcome(
  options: Partial<TickReadOptions> & Pick<TickReadOptions, 'files'>,
): Promise<ReadResult | { error: string }> {
  try {
    const { ticks, stats } = await readAll({ defaultMarket: 'EURUSD', ...options });
    return { ticks, stats, batches: 0 };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

async function expectSame(
  options: Partial<TickReadOptions> & Pick<TickReadOptions, 'files'>,
  label: string,
): Promise<void> {
  const fast = await outcome({ ...options, engine: 'fast' });
  const csv = await outcome({ ...options, engine: 'csv' });
  expect(fast, `${label}: the byte reader and csv-parse must agree`).toEqual(csv);
}

describe('both paths agree on every fixture', () => {
  it('has fixtures to check', () => {
    expect(FIXTURE_NAMES.length).toBeGreaterThanOrEqual(9);
  });

  // HistData and Dukascopy always use csv-parse; they are run anyway so a future fast path is covered.
  it.each(FIXTURE_NAMES)('%s: plain, CRLF, gzip; large and tiny chunks; large and tiny batches', async (name) => {
    const format = formatOf(name);
    const bytes = await readFile(fixture(name));
    const crlf = Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    const small = bytes.length < 20_000;
    const variants = [
      fixture(name),
      await tmp.write(`crlf-${name}`, crlf),
      await tmp.writeGz(`${name}.gz`, bytes),
      await tmp.writeGz(`crlf-${name}.gz`, crlf),
    ];
    // Big files (the lead's demo ticks) only with chunk sizes that keep the test quick.
    const chunkSizes = small ? [1 << 20, 7, 1] : [1 << 20, 65_521];
    const batchSizes = small ? [4096, 2] : [4096];
    for (const file of variants) {
      for (const chunkSize of chunkSizes) {
        for (const batchSize of batchSizes) {
          await expectSame(
            { files: [file], format, chunkSize, batchSize },
            `${file} chunk ${chunkSize} batch ${batchSize}`,
          );
          await expectSame({ files: [file], format, chunkSize, batchSize, strict: true }, `${file} strict`);
        }
      }
    }
  });

  it('agrees when several fixtures are merged, with filters', async () => {
    const files = FIXTURE_NAMES.filter((name) => formatOf(name) === 'standard').map(fixture);
    await expectSame(
      {
        files,
        knownMarkets: new Set(['EURUSD', 'IX.D.DAX.DAILY.IP']),
        from: Date.parse('2024-01-02T08:00:00.100Z'),
        to: Date.parse('2024-12-31T00:00:00Z'),
        maxReported: 100,
        batchSize: 7,
      },
      'merged fixtures',
    );
  });
});

// ---- random messy files ----------------------------------------------------------------------

/** Starts just before DST changes in London and New York, so zone handling is exercised. */
const BASES = ['2024-03-31T00:59:50Z', '2024-10-27T00:59:50Z', '2024-11-03T05:59:50Z', '2024-01-02T23:59:55Z'].map(
  Date.parse,
);

/** The shapes of a time field, for epoch ms t. */
function timeShapes(t: number): string[] {
  const iso = new Date(t).toISOString();
  return [
    iso,
    iso.replace('.000Z', 'Z'),
    iso.replace('T', ' '),
    iso.slice(0, -1), // no zone
    iso.slice(0, -5), // no zone, no ms
    iso.replace('Z', '+00:00'),
    iso.replace(/\.(\d)\d\dZ$/, '.$1Z'), // one fraction digit
    iso.replace('Z', '0Z'), // four fraction digits
    String(t),
    ` ${iso} `,
  ];
}

const badTime = fc.constantFrom(
  '',
  ' ',
  'yesterday',
  '2024-02-30T00:00:00Z',
  '2024-03-31T25:00:00Z',
  '1e12',
  '-5',
  '2024-03-31T01:00:00.Z',
  '2024-03-31',
  'ab"c',
);

const goodPrice = fc
  .tuple(fc.integer({ min: 1, max: 2_000_000 }), fc.integer({ min: 0, max: 6 }))
  .map(([m, k]) => (k === 0 ? String(m) : (m / 10 ** k).toFixed(k)));

const price = fc.oneof(
  { weight: 8, arbitrary: goodPrice },
  { weight: 1, arbitrary: goodPrice.map((p) => ` ${p} `) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '0',
      '-1.5',
      '1.1O2',
      '1e2',
      '1.2.3',
      '.5',
      '5.',
      '+2',
      '12345678901234567',
      'NaN',
      '"1.5"',
      '1,5',
    ),
  },
);

const market = fc.constantFrom('EURUSD', 'EURUSD', 'IX.D.DAX.DAILY.IP', ' GBPUSD ', '', '"EURUSD"');

/** A byte slipped into a row at a random place: the things a byte reader gets wrong. */
const STRAY = ['\r', '"', ',', ' ', '\t', 'x', '.', '-', ':', 'Z', '0', '\n'];

interface RandomFile {
  withMarket: boolean;
  extra: boolean;
  eol: string;
  base: number;
  rows: string[];
}

const randomFile: fc.Arbitrary<RandomFile> = fc
  .record({
    withMarket: fc.boolean(),
    extra: fc.boolean(),
    eol: fc.constantFrom('\n', '\r\n'),
    base: fc.constantFrom(...BASES),
    steps: fc.array(
      fc.record({
        dt: fc.integer({ min: -2000, max: 9000 }),
        kind: fc.constantFrom(
          'row',
          'row',
          'row',
          'row',
          'row',
          'row',
          'badTime',
          'blank',
          'spaces',
          'short',
          'long',
          'stray',
          'stray',
          'quoted',
          'multiline',
        ),
        shape: fc.nat(),
        bid: price,
        spread: fc.integer({ min: -3, max: 5 }),
        ask: price,
        market,
        bad: badTime,
        strayAt: fc.nat(),
        stray: fc.constantFrom(...STRAY),
      }),
      { maxLength: 40 },
    ),
  })
  .map(({ withMarket, extra, eol, base, steps }) => {
    let t = base;
    const rows: string[] = [];
    for (const step of steps) {
      t += step.dt;
      const shapes = timeShapes(t);
      const time = step.kind === 'badTime' ? step.bad : shapes[step.shape % shapes.length]!;
      const bidValue = Number(step.bid);
      const ask =
        step.spread === 5 || step.bid.trim() === '' || Number.isNaN(bidValue)
          ? step.ask
          : String(bidValue + step.spread / 100);
      const fields = withMarket ? [time, step.market, step.bid, ask] : [time, step.bid, ask];
      if (extra) fields.push('x');
      const line = fields.join(',');
      switch (step.kind) {
        case 'blank':
          rows.push('');
          break;
        case 'spaces':
          rows.push('  \t');
          break;
        case 'short':
          rows.push(fields.slice(1).join(','));
          break;
        case 'long':
          rows.push(`${line},more`);
          break;
        case 'stray': {
          const at = step.strayAt % (line.length + 1);
          rows.push(line.slice(0, at) + step.stray + line.slice(at));
          break;
        }
        case 'quoted':
          rows.push(fields.map((f) => `"${f}"`).join(','));
          break;
        case 'multiline':
          rows.push(extra ? [...fields.slice(0, -1), '"a\nb"'].join(',') : line);
          break;
        default:
          rows.push(line);
      }
    }
    return { withMarket, extra, eol, base, rows };
  });

function render(file: RandomFile): string {
  const header = [' Time', ...(file.withMarket ? ['MARKET'] : []), 'bid', 'Ask ', ...(file.extra ? ['note'] : [])].join(
    ',',
  );
  return [header, ...file.rows].join(file.eol) + (file.rows.length % 2 === 0 ? file.eol : '');
}

describe('a file whose lines end with CR alone', () => {
  it('is refused by both paths with the same short message, quoting none of the file', async () => {
    const rows = Array.from(
      { length: 2000 },
      (_, i) => `2024-03-14T08:00:${String(i % 60).padStart(2, '0')}Z,EURUSD,1.1,1.1001`,
    );
    const file = await tmp.write('cr-only.csv', `time,market,bid,ask\r${rows.join('\r')}\r`);
    const fast = await outcome({ files: [file], format: 'standard', engine: 'fast' });
    const csv = await outcome({ files: [file], format: 'standard', engine: 'csv' });
    expect(fast).toEqual(csv);
    expect(fast).toEqual({
      error: `UserError: ${file}: its lines end with a carriage return (CR) alone, which is not a line end here`,
    });
  });
});

describe('both paths agree on random messy files', () => {
  it('same ticks, stats and messages for any mix of good and bad rows (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        randomFile,
        fc.constantFrom(1, 2, 3, 16, 1 << 20),
        fc.constantFrom(1, 3, 4096),
        fc.constantFrom(undefined, 'Europe/London', 'America/New_York'),
        fc.boolean(),
        async (file, chunkSize, batchSize, timezone, gz) => {
          const text = render(file);
          const name = `random-${n++}.csv${gz ? '.gz' : ''}`;
          const path = gz ? await tmp.writeGz(name, text) : await tmp.write(name, text);
          await expectSame({ files: [path], chunkSize, batchSize, timezone, maxReported: 1000 }, JSON.stringify(text));
        },
      ),
      { numRuns: Number(process.env.TICKS_FUZZ_RUNS ?? 400) },
    );
  });
});
