/**
 * The backtest's reader thread (ThreadedTickSource) must deliver exactly what the same source
 * delivers on the engine's thread: ticks, market names, statistics, skipped rows, and the same
 * error after the same ticks. Checked over every fixture, merged files, a tick cache, and files
 * large enough to fill many transferred batches.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openAnyTickSource } from '../../../../src/core/adapters/files/tick-cache/index.js';
import { ThreadedTickSource } from '../../../../src/core/adapters/files/tick-thread/source.js';
import type { TickReadOptions } from '../../../../src/core/adapters/files/ticks/index.js';
import type { TickSource } from '../../../../src/core/ports/market-data.js';
import { importTicks } from '../../../../src/core/services/ticks-import.js';

const FIXTURES = resolve(import.meta.dirname, '../../../../fixtures/ticks');
const fixture = (name: string): string => join(FIXTURES, name);
const TEXT_FIXTURES = readdirSync(FIXTURES).filter((name) => name.endsWith('.csv'));

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailguard-thread-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function formatOf(name: string): TickReadOptions['format'] {
  if (name.includes('histdata')) return 'histdata';
  if (name.includes('dukascopy')) return 'dukascopy';
  return 'standard';
}

interface Outcome {
  /** time, market name, bid, ask of every tick, in order. */
  ticks: [number, string, number, number][];
  markets: string[];
  stats: unknown;
  error?: string;
}

async function drain(source: TickSource): Promise<Outcome> {
  const ticks: Outcome['ticks'] = [];
  let error: string | undefined;
  try {
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.length; i++) {
        ticks.push([batch.time[i]!, source.markets[batch.market[i]!]!, batch.bid[i]!, batch.ask[i]!]);
      }
    }
  } catch (e) {
    error = `${(e as Error).name}: ${(e as Error).message} (${String((e as { hint?: string }).hint)})`;
  }
  const outcome: Outcome = { ticks, markets: [...source.markets], stats: error === undefined ? source.stats() : null };
  if (error !== undefined) outcome.error = error;
  return outcome;
}

async function expectSame(options: TickReadOptions): Promise<Outcome> {
  const direct = await drain(openAnyTickSource(options));
  const threaded = await drain(new ThreadedTickSource(options));
  expect(threaded).toEqual(direct);
  return direct;
}

describe('ThreadedTickSource delivers what the source delivers on one thread', () => {
  it.each(TEXT_FIXTURES)('%s, lenient and strict', async (name) => {
    const base: TickReadOptions = {
      files: [fixture(name)],
      format: formatOf(name),
      strict: false,
      defaultMarket: 'EURUSD',
    };
    const lenient = await expectSame(base);
    expect(lenient.error).toBeUndefined();
    expect(lenient.ticks.length).toBeGreaterThan(0);
    await expectSame({ ...base, strict: true });
  });

  it('a strict error arrives after every tick before the bad row, with its file and line', async () => {
    const outcome = await expectSame({
      files: [fixture('EURUSD-malformed.csv')],
      format: 'standard',
      strict: true,
      defaultMarket: 'EURUSD',
    });
    expect(outcome.error).toMatch(/^UserError: .*EURUSD-malformed\.csv, line \d+: /);
  });

  it('a file whose markets interleave out of time order: reported in `check` order, sorted in `sorted` order', async () => {
    // EURUSD's lines come two ticks late: each market in time order, the file not.
    const rows = ['time,market,bid,ask'];
    for (let i = 0; i < 30_000; i++) {
      rows.push(`${1_700_000_000_000 + 2 * i},IX.D.DAX.DAILY.IP,${100 + (i % 7)},${101 + (i % 7)}`);
      if (i >= 2) rows.push(`${1_700_000_000_000 + 2 * (i - 2) + 1},EURUSD,1.1,1.2`);
    }
    const file = join(dir, 'interleaved.csv');
    await writeFile(file, `${rows.join('\n')}\n`);
    const base: TickReadOptions = { files: [file], format: 'standard', strict: false };
    const checked = await expectSame({ ...base, timeOrder: 'check' });
    expect(checked.error).toMatch(/^TicksNotInTimeOrder: .*interleaved\.csv:5: ticks of several markets interleave/);
    const sorted = await expectSame({ ...base, timeOrder: 'sorted' });
    expect(sorted.error).toBeUndefined();
    expect(sorted.ticks).toHaveLength(30_000 + 29_998);
    expect(sorted.ticks.every((t, k) => k === 0 || t[0] > sorted.ticks[k - 1]![0])).toBe(true);
  });

  it('merged files with a window and a market filter', async () => {
    const files = TEXT_FIXTURES.filter((name) => formatOf(name) === 'standard').map(fixture);
    const outcome = await expectSame({
      files,
      format: 'standard',
      strict: false,
      defaultMarket: 'EURUSD',
      knownMarkets: new Set(['EURUSD', 'IX.D.DAX.DAILY.IP']),
      from: Date.parse('2024-01-02T08:00:00.100Z'),
      to: Date.parse('2024-12-31T00:00:00Z'),
      maxReported: 100,
    });
    expect(outcome.ticks.length).toBeGreaterThan(1000);
  });

  it('many batches, more than the thread keeps in flight, several markets met along the way, out-of-order rows (200,000 rows)', async () => {
    const rows = ['time,market,bid,ask'];
    const markets = ['IX.D.DAX.DAILY.IP', 'CS.D.EURUSD.MINI.IP', 'IX.D.FTSE.DAILY.IP'];
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    // 13 batches of 16,384 ticks: the reader reuses the 4 buffers it may have in flight.
    for (let i = 0; i < 200_000; i++) {
      // A new market every 70,000 rows; every 997th row goes back in time.
      const market = markets[Math.min(2, Math.floor(i / 70_000))]!;
      const time = i % 997 === 996 ? t0 + (i - 5000) * 250 : t0 + i * 250;
      const bid = 100 + (i % 50) / 10;
      rows.push(`${new Date(time).toISOString()},${market},${bid.toFixed(1)},${(bid + 0.2).toFixed(1)}`);
    }
    const file = join(dir, 'many.csv');
    await writeFile(file, `${rows.join('\n')}\n`);
    const outcome = await expectSame({ files: [file], format: 'standard', strict: false, maxReported: 100 });
    expect(outcome.markets).toEqual(markets);
    expect((outcome.stats as { skipped: { outOfOrder: number } }).skipped.outOfOrder).toBeGreaterThan(150);
  });

  it('a tick cache, and a cache mixed with a text file (refused in both)', async () => {
    const cache = join(dir, 'demo.tgt');
    await importTicks({
      files: [fixture('IX.D.DAX.DAILY.IP-demo.csv')],
      out: cache,
      format: 'standard',
      market: undefined,
      strict: false,
      blockTicks: 1000,
    });
    const outcome = await expectSame({ files: [cache], format: 'standard', strict: false });
    expect(outcome.ticks.length).toBeGreaterThan(10_000);
    const mixed = await expectSame({ files: [cache, fixture('multi-good.csv')], format: 'standard', strict: false });
    expect(mixed.error).toMatch(/cannot mix tick caches/);
  });

  it('a missing file is the same UserError', async () => {
    const outcome = await expectSame({ files: [join(dir, 'nope.csv')], format: 'standard', strict: false });
    expect(outcome.error).toMatch(/^UserError: tick file not found/);
  });

  it('a consumer that stops early stops the thread (the read ends, nothing hangs)', async () => {
    const source = new ThreadedTickSource({
      files: [fixture('IX.D.DAX.DAILY.IP-demo.csv')],
      format: 'standard',
      strict: false,
    });
    let seen = 0;
    for await (const batch of source.batches()) {
      seen += batch.length;
      break;
    }
    expect(seen).toBeGreaterThan(0);
    expect(() => source.batches()).toThrow(/only once/);
  });
});
