/**
 * `ticks import`, `ticks info` and `backtest CACHE.tgt` through the built CLI (npm test builds
 * dist/ first): the cache backtest writes the very journal the text backtest writes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/run.js');
const DEMO = 'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv';
const CONFIG = 'fixtures/configs/demo.yaml';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'tg-ticks-cli-'));
const cache = join(dir, 'demo.tgt');

beforeAll(() => {
  const r = cli(['ticks', 'import', DEMO, '--out', cache, '--json']);
  expect(r.code, r.stderr).toBe(0);
});

describe('trailguard ticks import / backtest CACHE.tgt (built CLI)', () => {
  it('import reports what it wrote', () => {
    const r = cli(['ticks', 'import', DEMO, '--out', join(dir, 'again.tgt'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      ticks: 17_676,
      blocks: 1,
      markets: [{ market: 'IX.D.DAX.DAILY.IP', ticks: 17_676 }],
    });
    expect(result.bytes).toBeLessThan(result.inputBytes / 4);
    expect(
      readFileSync(join(dir, 'again.tgt')).equals(readFileSync(cache)),
      'the same input gives the same bytes',
    ).toBe(true);
  });

  it('the backtest of the cache writes the same journal and summary as the backtest of the text file', () => {
    const textOut = join(dir, 'text');
    const cacheOut = join(dir, 'cache');
    expect(cli(['backtest', DEMO, '--config', CONFIG, '--out', textOut]).code).toBe(0);
    const r = cli(['backtest', cache, '--config', CONFIG, '--out', cacheOut]);
    expect(r.code, r.stderr).toBe(0);
    const journal = readFileSync(join(cacheOut, 'trade_history.csv'), 'utf8');
    expect(journal.split('\n').length, 'the demo trades').toBeGreaterThan(10);
    expect(journal, 'byte-identical journal').toBe(readFileSync(join(textOut, 'trade_history.csv'), 'utf8'));
    const strip = (path: string) => {
      const {
        journalPath: _j,
        summaryPath: _s,
        elapsedMs: _e,
        ticksPerSecond: _t,
        peakRssMb: _r,
        ...rest
      } = JSON.parse(readFileSync(path, 'utf8'));
      return rest;
    };
    expect(strip(join(cacheOut, 'summary.json'))).toEqual(strip(join(textOut, 'summary.json')));
  });

  it('--from/--to and --market apply to a cache as to a text file', () => {
    const window = [
      '--from',
      '2024-03-14T09:00:00Z',
      '--to',
      '2024-03-14T15:00:00Z',
      '--market',
      'IX.D.DAX.DAILY.IP',
      '--json',
    ];
    const text = JSON.parse(cli(['backtest', DEMO, '--config', CONFIG, '--out', join(dir, 'wt'), ...window]).stdout);
    const fromCache = JSON.parse(
      cli(['backtest', cache, '--config', CONFIG, '--out', join(dir, 'wc'), ...window]).stdout,
    );
    expect(fromCache.ticks).toEqual(text.ticks);
    expect(fromCache.trades).toEqual(text.trades);
    expect(readFileSync(join(dir, 'wc', 'trade_history.csv'), 'utf8')).toBe(
      readFileSync(join(dir, 'wt', 'trade_history.csv'), 'utf8'),
    );
  });

  it('--timezone and --format on a cache are said not to apply (its times were read at import)', () => {
    const r = cli([
      'backtest',
      cache,
      '--config',
      CONFIG,
      '--out',
      join(dir, 'tz'),
      '--timezone',
      'Europe/London',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).alerts).toContainEqual({
      level: 'warn',
      message:
        '--timezone Europe/London does not apply to the ticks of a tick cache (their times were read at import: give it to ticks import); it still reads --from/--to and the signal times written without a zone',
    });
  });

  it('ticks info reads several files in the order a backtest replays them: no phantom or negative gap', () => {
    const a = join(dir, 'gaps-a.csv');
    const b = join(dir, 'gaps-b.csv');
    writeFileSync(
      a,
      ['time,market,bid,ask', ...[0, 1, 2, 3].map((s) => `2024-01-02T00:00:0${s}Z,AAA,1.1,1.2`)].join('\n'),
    );
    // BBB, then an AAA tick earlier than it: allowed, order is checked per market (SPEC §9).
    writeFileSync(b, 'time,market,bid,ask\n2024-01-02T00:00:02.500Z,BBB,1.1,1.2\n2024-01-02T00:00:01Z,AAA,1.1,1.2\n');
    const r = cli(['ticks', 'info', a, b, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const aaa = JSON.parse(r.stdout).markets.find((m: { market: string }) => m.market === 'AAA');
    expect(aaa.gaps.map((g: { ms: number }) => g.ms)).toEqual([1000, 1000, 1000, 0]);
  });

  it('files without a market column: --market, else the only market of a --config given, else an input error', () => {
    const hist = 'fixtures/ticks/EURUSD-histdata.csv';
    const one = join(dir, 'eurusd.yaml');
    writeFileSync(one, 'markets:\n  CS.D.EURUSD.MINI.IP: { pointSize: 0.0001, decimals: 5 }\n');
    const none = cli(['ticks', 'info', hist, '--format', 'histdata', '--json']);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error.message).toMatch(/no single market to read (it|them) as/);
    for (const how of [['--market', 'CS.D.EURUSD.MINI.IP'], ['--config', one], [`-c${one}`]]) {
      const r = cli(['ticks', 'info', hist, '--format', 'histdata', ...how, '--json']);
      expect(r.code, `${how.join(' ')}: ${r.stdout}`).toBe(0);
      expect(JSON.parse(r.stdout).markets.map((m: { market: string }) => m.market)).toEqual(['CS.D.EURUSD.MINI.IP']);
    }
    const imported = cli([
      'ticks',
      'import',
      hist,
      '--format',
      'histdata',
      '-c',
      one,
      '--out',
      join(dir, 'eurusd.tgt'),
      '--json',
    ]);
    expect(imported.code, imported.stdout).toBe(0);
    expect(JSON.parse(imported.stdout).markets).toMatchObject([{ market: 'CS.D.EURUSD.MINI.IP' }]);
  });

  it('ticks info prints markets, count, time range, spreads and gaps', () => {
    const r = cli(['ticks', 'info', cache, '--gaps', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({
      kind: 'cache',
      ticks: 17_676,
      firstTick: Date.parse('2024-03-14T07:00:00.000Z'),
      lastTick: Date.parse('2024-03-14T21:29:57.255Z'),
      cache: { version: 1, blocks: 1, checksums: 'verified', timeOrdered: true, format: 'standard' },
    });
    expect(info.markets).toHaveLength(1);
    const m = info.markets[0];
    expect(m.market).toBe('IX.D.DAX.DAILY.IP');
    expect(m.spread.min).toBeCloseTo(1, 9);
    expect(m.spread.max).toBeCloseTo(1.2, 9);
    expect(m.spread.mean).toBeGreaterThan(1);
    expect(m.gaps).toHaveLength(3);
    expect(m.gaps[0].ms).toBeGreaterThanOrEqual(m.gaps[2].ms);
    expect(m.gaps[0].to - m.gaps[0].from).toBe(m.gaps[0].ms);
    // The same figures from the text file.
    const text = JSON.parse(cli(['ticks', 'info', DEMO, '--gaps', '3', '--json']).stdout);
    expect(text.kind).toBe('text');
    expect(text.markets).toEqual(info.markets);
    const human = cli(['ticks', 'info', cache]);
    expect(human.stdout).toMatch(/17,676 ticks, 2024-03-14T07:00:00.000Z → 2024-03-14T21:29:57.255Z/);
    expect(human.stdout).toMatch(/spread min 1 {2}mean 1\.\d+ {2}max 1\.2/);
    expect(human.stdout).toMatch(/largest gaps/);
  });

  it.each([
    {
      why: 'a flipped payload byte',
      damage: (b: Buffer) => (b.writeUInt8(b.readUInt8(4000) ^ 1, 4000), b),
      message: /checksum mismatch in block 0/,
    },
    { why: 'a truncated file', damage: (b: Buffer) => b.subarray(0, b.length - 500), message: /truncated/ },
  ])('a damaged cache ($why): backtest and info exit 2 naming the file, no journal', ({ damage, message }) => {
    const bad = join(dir, `bad-${Math.random().toString(36).slice(2)}.tgt`);
    writeFileSync(bad, damage(readFileSync(cache)));
    const out = join(dir, 'bad-out');
    const r = cli(['backtest', bad, '--config', CONFIG, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.replace(/\s*›\s*/g, '')).toContain(bad);
    expect(existsSync(join(out, 'trade_history.csv')), 'no journal from a failed run').toBe(false);
    expect(readdirSync(out), 'no temporary file left behind').toEqual([]);
    const info = cli(['ticks', 'info', bad, '--json']);
    expect(info.code).toBe(2);
    expect(JSON.parse(info.stdout).error.message).toMatch(message);
  });
});
