/**
 * The tick cache must hand a backtest exactly what the text readers hand it: the same ticks, bit
 * for bit, in the same order, with the same markets, windows, ignored and skipped counts; and it
 * must refuse a damaged file with an error that names it.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  isTickCacheFile,
  openAnyTickSource,
  TickCacheFile,
  TickCacheWriter,
} from '../../../../../src/core/adapters/files/tick-cache/index.js';
import { DECODE_TICKS } from '../../../../../src/core/adapters/files/tick-cache/reader.js';
import { TickStatsBuilder } from '../../../../../src/core/adapters/files/tick-cache/stats.js';
import type { TickReadOptions } from '../../../../../src/core/adapters/files/ticks/index.js';
import { UserError } from '../../../../../src/core/domain/errors.js';
import type { ReadStats, TickBatch } from '../../../../../src/core/ports/market-data.js';
import { importTicks } from '../../../../../src/core/services/ticks-import.js';

const FIXTURES = resolve(import.meta.dirname, '../../../../../fixtures/ticks');
const fixture = (name: string) => join(FIXTURES, name);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailguard-tgt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Read {
  /** [time, market, bid, ask]; numbers compared with Object.is, so bit-exact. */
  ticks: [number, string, number, number][];
  markets: string[];
  stats: ReadStats;
}

async function readAny(options: Partial<TickReadOptions> & Pick<TickReadOptions, 'files'>): Promise<Read> {
  const source = openAnyTickSource({ format: 'standard', strict: false, ...options });
  const ticks: Read['ticks'] = [];
  for await (const b of source.batches()) {
    for (let i = 0; i < b.length; i++) ticks.push([b.time[i]!, source.markets[b.market[i]!]!, b.bid[i]!, b.ask[i]!]);
  }
  return { ticks, markets: [...source.markets], stats: source.stats() };
}

function formatOf(name: string): TickReadOptions['format'] {
  if (name.includes('histdata')) return 'histdata';
  if (name.includes('dukascopy')) return 'dukascopy';
  return 'standard';
}

let serial = 0;
async function imported(
  files: string[],
  extra: { format?: TickReadOptions['format']; market?: string; blockTicks?: number } = {},
): Promise<string> {
  const out = join(dir, `c${++serial}.tgt`);
  await importTicks({
    files,
    out,
    format: extra.format ?? 'standard',
    market: extra.market,
    strict: false,
    blockTicks: extra.blockTicks,
  });
  return out;
}

const TEXT_FIXTURES = readdirSync(FIXTURES).filter((name) => name.endsWith('.csv'));

describe('tick cache round trip: text → .tgt → ticks', () => {
  it.each(TEXT_FIXTURES.flatMap((name) => [1, 3, 65_536].map((blockTicks) => ({ name, blockTicks }))))(
    '$name with blocks of $blockTicks ticks reads back exactly as the text file',
    async ({ name, blockTicks }) => {
      const format = formatOf(name);
      const text = await readAny({ files: [fixture(name)], format, defaultMarket: 'EURUSD' });
      const cache = await imported([fixture(name)], { format, market: 'EURUSD', blockTicks });
      const back = await readAny({ files: [cache] });
      expect(back.ticks, 'same ticks, bit for bit, in the same order').toEqual(text.ticks);
      for (let i = 0; i < text.ticks.length; i++) {
        for (const k of [0, 2, 3] as const)
          expect(Object.is(back.ticks[i]![k], text.ticks[i]![k]), `tick ${i} field ${k}`).toBe(true);
      }
      expect(back.stats, 'skipped rows counted at import are reported by the cache').toEqual({
        ...text.stats,
        accepted: text.ticks.length,
      });
      expect(back.markets.filter((m) => text.ticks.some((t) => t[1] === m))).toEqual(back.markets);
    },
  );

  it.each([
    {
      why: 'a window',
      opts: { from: Date.parse('2024-01-02T08:00:00.250Z'), to: Date.parse('2024-01-02T08:00:01.750Z') },
    },
    { why: 'one configured market: the other is ignored (counted)', opts: { knownMarkets: new Set(['EURUSD']) } },
    {
      why: 'a window and one market',
      opts: { knownMarkets: new Set(['IX.D.DAX.DAILY.IP']), from: Date.parse('2024-01-02T08:00:00.500Z') },
    },
    { why: 'an empty window', opts: { from: Date.parse('2030-01-01T00:00:00Z') } },
  ])('filters as the text reader does: $why', async ({ opts }) => {
    const files = [fixture('multi-good.csv')];
    const text = await readAny({ files, ...opts });
    for (const blockTicks of [2, 65_536]) {
      const back = await readAny({ files: [await imported(files, { blockTicks })], ...opts });
      expect(back.ticks).toEqual(text.ticks);
      expect(back.stats.ignored, 'ignored ticks of unconfigured markets').toBe(text.stats.ignored);
      expect(back.stats.accepted).toBe(text.stats.accepted);
    }
  });

  it('several caches are merged by time as several text files are (ties: the file given first)', async () => {
    const files = [fixture('multi-good.csv'), fixture('EURUSD-epoch-ms.csv'), fixture('EURUSD-no-zone.csv')];
    const text = await readAny({ files, defaultMarket: 'EURUSD' });
    const caches = [];
    for (const file of files) caches.push(await imported([file], { market: 'EURUSD', blockTicks: 2 }));
    const back = await readAny({ files: caches, batchSize: 3 });
    expect(back.ticks).toEqual(text.ticks);
    expect(back.stats.skipped).toEqual(text.stats.skipped);
    const merged = await imported(files, { market: 'EURUSD' });
    expect((await readAny({ files: [merged] })).ticks, 'one cache of the three files').toEqual(text.ticks);
  });

  it('--strict: a cache whose import skipped rows fails as a strict read of the text file does', async () => {
    const text = fixture('EURUSD-malformed.csv');
    const cache = await imported([text], { market: 'EURUSD' });
    const strictText = await readAny({ files: [text], defaultMarket: 'EURUSD', strict: true }).catch((e: Error) => e);
    const strictCache = await readAny({ files: [cache], strict: true }).catch((e: Error) => e);
    expect(strictCache).toBeInstanceOf(UserError);
    expect((strictCache as Error).message.startsWith((strictText as Error).message)).toBe(true);
    expect((strictCache as Error).message).toContain(cache);
    const clean = await imported([fixture('multi-good.csv')]);
    expect((await readAny({ files: [clean], strict: true })).ticks.length).toBeGreaterThan(0);
  });

  it('an empty tick file makes an empty cache', async () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'time,market,bid,ask\n');
    const cache = await imported([empty]);
    const back = await readAny({ files: [cache] });
    expect(back.ticks).toEqual([]);
    const file = TickCacheFile.open(cache);
    expect(file.header.blockCount).toBe(0);
    file.close();
  });

  it('a cache and text files cannot be mixed in one run', async () => {
    const cache = await imported([fixture('multi-good.csv')]);
    await expect(readAny({ files: [cache, fixture('multi-good.csv')] })).rejects.toThrow(/cannot mix/);
  });

  it('recognises a cache by its first bytes whatever its name', async () => {
    const cache = await imported([fixture('multi-good.csv')]);
    const renamed = join(dir, 'cache-without-extension.bin');
    writeFileSync(renamed, readFileSync(cache));
    expect(isTickCacheFile(renamed)).toBe(true);
    expect(isTickCacheFile(fixture('multi-good.csv'))).toBe(false);
    expect((await readAny({ files: [renamed] })).ticks).toEqual(
      (await readAny({ files: [fixture('multi-good.csv')] })).ticks,
    );
  });
});

describe('tick cache encodings', () => {
  function batch(rows: [number, number, number, number][]): TickBatch {
    return {
      length: rows.length,
      time: Float64Array.from(rows.map((r) => r[0])),
      bid: Float64Array.from(rows.map((r) => r[2])),
      ask: Float64Array.from(rows.map((r) => r[3])),
      market: Int32Array.from(rows.map((r) => r[1])),
    };
  }

  async function roundTrip(
    rows: [number, number, number, number][],
    names: string[],
    blockTicks = 4,
  ): Promise<[number, number, number, number][]> {
    const path = join(dir, `enc${++serial}.tgt`);
    const writer = new TickCacheWriter(path, { blockTicks });
    writer.append(batch(rows));
    writer.finish({
      markets: names,
      sources: [],
      format: 'standard',
      skipped: { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 },
      firstSkipped: [],
    });
    const read = await readAny({ files: [path] });
    return read.ticks.map(([t, m, b, a]) => [t, names.indexOf(m), b, a]);
  }

  it.each([
    {
      why: 'prices that need more than 9 decimals are stored as float64',
      rows: [
        [1, 0, 1.1234567890123, 1.1234567890125],
        [2, 0, 0.1 + 0.2, 0.30000000000000004],
      ],
    },
    {
      why: 'prices too large for int32 at their decimals',
      rows: [
        [1, 0, 98765432.123, 98765432.125],
        [2, 0, 1, 2],
      ],
    },
    {
      why: 'a block spanning more than 24.8 days stores float64 times',
      rows: [
        [0, 0, 1, 2],
        [3e9, 0, 1, 2],
        [3e9 + 1, 0, 1, 2],
      ],
    },
    {
      why: 'fractional milliseconds',
      rows: [
        [1000.5, 0, 1, 2],
        [1001.25, 0, 1, 2],
      ],
    },
    {
      why: 'several markets in a block, out of time order across markets',
      rows: [
        [10, 0, 1, 2],
        [5, 1, 3, 4],
        [11, 2, 5, 6],
        [6, 1, 3, 4],
        [12, 0, 1, 2],
      ],
    },
    {
      why: 'one market per block, then a new market',
      rows: [
        [1, 0, 1, 2],
        [2, 0, 1, 2],
        [3, 0, 1, 2],
        [4, 0, 1, 2],
        [5, 1, 7, 8],
      ],
    },
  ] as { why: string; rows: [number, number, number, number][] }[])('$why', async ({ rows }) => {
    const names = ['A', 'B', 'C'];
    const back = await roundTrip(rows, names);
    expect(back).toEqual(rows);
    for (let i = 0; i < rows.length; i++)
      for (const k of [0, 2, 3]) expect(Object.is(back[i]![k], rows[i]![k])).toBe(true);
  });

  it.each([
    { encoding: 'scaled int32', offset: 0 },
    { encoding: 'float64', offset: 1e-11 },
  ])(
    'a block larger than one decoded part (DECODE_TICKS) reads back whole, in order: $encoding prices',
    async ({ offset }) => {
      const n = 3 * DECODE_TICKS + 5;
      const rows: [number, number, number, number][] = Array.from({ length: n }, (_, i) => [
        1_700_000_000_000 + i * 7,
        i % 3 === 0 ? 1 : 0,
        100 + (i % 997) / 10 + offset,
        100.2 + (i % 997) / 10 + offset,
      ]);
      const back = await roundTrip(rows, ['A', 'B'], n);
      expect(back.length).toBe(n);
      expect(back).toEqual(rows);
    },
  );

  it('a --from/--to window that starts and ends inside decoded parts of one block', async () => {
    const n = 2 * DECODE_TICKS + 100;
    const rows: [number, number, number, number][] = Array.from({ length: n }, (_, i) => [
      1000 + i,
      0,
      1 + i / 10,
      2 + i / 10,
    ]);
    const path = join(dir, `window${++serial}.tgt`);
    const writer = new TickCacheWriter(path, { blockTicks: n });
    writer.append(batch(rows));
    writer.finish({
      markets: ['A'],
      sources: [],
      format: 'standard',
      skipped: { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 },
      firstSkipped: [],
    });
    const from = 1000 + DECODE_TICKS - 10;
    const to = 1000 + 2 * DECODE_TICKS + 50;
    const read = await readAny({ files: [path], from, to });
    expect(read.ticks.map((t) => t[0])).toEqual(rows.filter((r) => r[0] >= from && r[0] < to).map((r) => r[0]));
    expect(read.ticks.length).toBe(DECODE_TICKS + 60);
  });

  it('many markets (uint16 market column) and the time-order flag', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `M${i}`);
    const rows: [number, number, number, number][] = names.map((_, i) => [1000 - i, i, 1.5, 1.6]);
    const back = await roundTrip(rows, names, 512);
    expect(back).toEqual(rows);
  });
});

describe('damaged tick caches are refused with the file named', () => {
  function flip(bytes: Buffer, at: number, mask: number): Buffer {
    bytes.writeUInt8(bytes.readUInt8(at) ^ mask, at);
    return bytes;
  }

  async function damaged(damage: (bytes: Buffer) => Buffer): Promise<string> {
    const cache = await imported([fixture('IX.D.DAX.DAILY.IP-demo.csv')], { blockTicks: 4096 });
    const bytes = damage(readFileSync(cache));
    writeFileSync(cache, bytes);
    return cache;
  }

  async function failure(path: string): Promise<Error> {
    try {
      await readAny({ files: [path] });
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected the read to fail');
  }

  it.each([
    {
      why: 'a flipped byte in a block',
      damage: (b: Buffer) => flip(b, 5000, 0x01),
      message: /checksum mismatch in block 0/,
    },
    {
      why: 'a flipped byte in the last block',
      damage: (b: Buffer) => flip(b, b.length - 1200, 0x40),
      message: /checksum mismatch in block 4/,
    },
    {
      why: 'a flipped byte in the header',
      damage: (b: Buffer) => flip(b, 20, 0x01),
      message: /header checksum mismatch/,
    },
    {
      why: 'a flipped byte in the metadata',
      damage: (b: Buffer) => flip(b, b.length - 3, 0x01),
      message: /metadata checksum mismatch/,
    },
    { why: 'truncated', damage: (b: Buffer) => b.subarray(0, b.length - 1000), message: /truncated/ },
    { why: 'truncated inside the header', damage: (b: Buffer) => b.subarray(0, 60), message: /truncated/ },
    {
      why: 'bytes appended',
      damage: (b: Buffer) => Buffer.concat([b, Buffer.from('junk')]),
      message: /unexpected bytes/,
    },
    { why: 'not a cache at all', damage: () => Buffer.from('time,bid,ask\n'), message: /magic/ },
    { why: 'empty', damage: () => Buffer.alloc(0), message: /magic/ },
  ])('$why', async ({ damage, message }) => {
    const path = await damaged(damage);
    const error = await failure(path);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(message);
    expect(error.message, 'the message names the file').toContain(path);
  });

  it('a damaged time range in a block header is found with --from/--to too, not taken as a reason to skip the block', async () => {
    // Block 1 starts after the file header (128 bytes) and block 0 (64-byte header + 4096 × 12 bytes);
    // its minTime is the float64 at +16, maxTime at +24 (little-endian: byte 7 holds the sign).
    const block1 = 128 + 64 + 4096 * 12;
    const whole = await readAny({ files: [await damaged((b) => b)] });
    const first = whole.ticks[0]?.[0] as number;
    const last = whole.ticks.at(-1)?.[0] as number;
    for (const { damage, window } of [
      { damage: (b: Buffer) => flip(b, block1 + 24 + 7, 0x80), window: { from: first + 1 } }, // maxTime < 0: "before the window"
      { damage: (b: Buffer) => flip(b, block1 + 16 + 6, 0x40), window: { to: last } }, // minTime past the window's end
    ]) {
      const path = await damaged(damage);
      const error = await readAny({ files: [path], ...window }).then(
        () => new Error('expected the read to fail'),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toMatch(/checksum mismatch in block 1/);
    }
  });

  it('two blocks swapped: each block is fine, the payload checksum is not', async () => {
    const cache = await imported([fixture('IX.D.DAX.DAILY.IP-demo.csv')], { blockTicks: 4096 });
    // A full block of one market: 64-byte header + 4096 × (int32 time, bid, ask).
    const blockBytes = 64 + 4096 * 12;
    const b = readFileSync(cache);
    const first = Buffer.from(b.subarray(128, 128 + blockBytes));
    b.copy(b, 128, 128 + blockBytes, 128 + 2 * blockBytes);
    first.copy(b, 128 + blockBytes);
    writeFileSync(cache, b);
    const error = await failure(cache);
    expect(error.message).toMatch(/payload checksum mismatch/);
    expect(statSync(cache).size).toBe(b.length);
  });
});

describe('tick statistics', () => {
  it('spread min/mean/max and the largest gaps per market, largest first', () => {
    const stats = new TickStatsBuilder(2);
    const b: TickBatch = {
      length: 6,
      time: Float64Array.of(0, 1000, 1500, 5000, 5100, 9000),
      bid: Float64Array.of(10, 10, 20, 10, 20, 10),
      ask: Float64Array.of(11, 12, 20.5, 11, 20.5, 13),
      market: Int32Array.of(0, 0, 1, 0, 1, 0),
    };
    stats.add(b);
    const [a, c] = stats.result(['A', 'C']);
    expect(a).toEqual({
      market: 'A',
      ticks: 4,
      firstTime: 0,
      lastTime: 9000,
      spread: { min: 1, mean: 7 / 4, max: 3 },
      gaps: [
        { ms: 4000, from: 1000, to: 5000 },
        { ms: 4000, from: 5000, to: 9000 },
      ],
    });
    expect(c?.gaps).toEqual([{ ms: 3600, from: 1500, to: 5100 }]);

    // --gaps 0: the rest, without gaps (it crashed on the second tick).
    const none = new TickStatsBuilder(0);
    none.add(b);
    const [a0] = none.result(['A', 'C']);
    expect(a0).toEqual({ ...a, gaps: [] });
  });
});
