import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/run.js');

/** Runs the built CLI (npm test builds dist/ first). */
function cli(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'tg-cli-'));

/** A backtest of one of the fixture days (`trailing` or `demo`) into `out`, then `flags`. */
const fixtureBacktest = (day: 'trailing' | 'demo', out: string, ...flags: string[]): string[] => [
  'backtest',
  `fixtures/ticks/IX.D.DAX.DAILY.IP-${day}.csv`,
  '--config',
  `fixtures/configs/${day}.yaml`,
  '--out',
  out,
  ...flags,
];

/**
 * The demo configuration with a signals entry reading `rows` (a signals.csv under `dir`); returns
 * a backtest of the demo day with it into `dir/<out>`, with `flags`.
 */
function signalsBacktest(dir: string, rows: string) {
  writeFileSync(join(dir, 'signals.csv'), rows);
  writeFileSync(
    join(dir, 'signals.yaml'),
    readFileSync(join(ROOT, 'fixtures/configs/demo.yaml'), 'utf8').replace(
      / {4}entry:\n( {6}.*\n)+/,
      '    entry: { kind: signals, file: ./signals.csv, size: 1, stopPoints: 30 }\n',
    ),
  );
  return (out: string, ...flags: string[]) =>
    cli([
      'backtest',
      'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv',
      '--config',
      join(dir, 'signals.yaml'),
      '--out',
      join(dir, out),
      ...flags,
    ]);
}

describe('trailguard backtest (built CLI)', () => {
  it('writes the journal row by row as expected and a summary, exit 0', () => {
    const out = tmp();
    const r = cli(fixtureBacktest('trailing', out));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'trade_history.csv'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'fixtures/expected/trailing.csv'), 'utf8'),
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.trades).toMatchObject({ trades: 2, wins: 1, losses: 1, netAmount: -24 });
    expect(r.stdout).toContain('trades          2');
    expect(readdirSync(out).sort(), 'no temporary files left').toEqual(['summary.json', 'trade_history.csv']);
  });

  it('--json prints the result object', () => {
    const out = tmp();
    const r = cli(fixtureBacktest('trailing', out, '--json'));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.trades.exitsByReason).toEqual({ TRAILING_STOP: 1, STOP: 1 });
    expect(result.ticks.ticks).toBe(7);
  });

  it("a configured market that saw no tick while other markets' ticks were ignored: a warning (a market id written two ways)", () => {
    const out = tmp();
    const config = join(out, 'case.yaml');
    writeFileSync(config, 'markets:\n  ix.d.dax.daily.ip: { pointSize: 1, decimals: 1 }\n');
    const r = cli([
      'backtest',
      'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv',
      '--config',
      config,
      '--out',
      join(out, 'o'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).alerts).toEqual([
      {
        level: 'warn',
        message:
          'ix.d.dax.daily.ip: no tick in the files, while 17676 ticks of markets not in the configuration were ignored (is the market id written the same way in both?)',
      },
    ]);
    // Every configured market ticking: no such warning.
    const ok = JSON.parse(cli(fixtureBacktest('demo', join(out, 'o2'), '--json')).stdout);
    expect(ok.alerts.filter((a: { message: string }) => a.message.includes('no tick in the files'))).toEqual([]);
  });

  it('tick times far outside any history (epoch seconds or microseconds read as milliseconds): a warning', () => {
    const out = tmp();
    const config = join(out, 'case.yaml');
    writeFileSync(config, 'markets:\n  X: { pointSize: 1, decimals: 1 }\n');
    const write = (name: string, times: string[]) => {
      const file = join(out, name);
      writeFileSync(file, `time,bid,ask\n${times.map((t, i) => `${t},${100 + i},${101 + i}`).join('\n')}\n`);
      return file;
    };
    const alerts = (file: string) => {
      const r = cli(['backtest', file, '--config', config, '--out', join(out, 'o'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).alerts.map((a: { message: string }) => a.message);
    };
    expect(alerts(write('seconds.csv', ['1704153600', '1704153601']))).toEqual([
      "the first tick is dated 1970-01-20T17:22:33.600Z, before 1990: are the file's epoch times in seconds? Epoch times are read as milliseconds (digits only)",
    ]);
    expect(alerts(write('micro.csv', ['1704153600000000', '1704153601000000']))[0]).toMatch(
      /^the last tick is dated \+055972-.*, after 2100: are the file's epoch times in microseconds\?/,
    );
    expect(alerts(write('ms.csv', ['1704153600000', '1704153601000']))).toEqual([]);
  });

  it('the demo backtest runs and reports open/closed trades', () => {
    const out = tmp();
    const r = cli(fixtureBacktest('demo', out, '--json'));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.trades.trades).toBeGreaterThan(0);
    const rows = readFileSync(join(out, 'trade_history.csv'), 'utf8').trim().split('\n');
    expect(rows.length - 1).toBe(result.trades.journalRows);
  });

  it('--reader-thread (the reader in a worker thread of the build) writes the same journal and summary', () => {
    const run = (flag: string) => {
      const out = tmp();
      const r = cli(fixtureBacktest('demo', out, '--json', flag));
      expect(r.code, r.stderr).toBe(0);
      const { trades, ticks, openPositions } = JSON.parse(r.stdout);
      return { journal: readFileSync(join(out, 'trade_history.csv'), 'utf8'), trades, ticks, openPositions };
    };
    const threaded = run('--reader-thread');
    expect(threaded.trades.trades).toBeGreaterThan(0);
    expect(threaded).toEqual(run('--no-reader-thread'));
  });

  it('--reader-thread detaches no ArrayBuffer, so V8 keeps typed array access unchecked in both threads', () => {
    // V8 reports when the first detach anywhere in the process turns its "never detached"
    // assumption off: with transferred buffers the reader and the engine both slowed down.
    const traced = (args: string[]) =>
      spawnSync(process.execPath, ['--trace-protector-invalidation', ...args], { cwd: ROOT, encoding: 'utf8' });
    const detach = 'const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] });';
    expect(traced(['-e', detach]).stdout).toContain('ArrayBufferDetaching');
    const out = tmp();
    const r = traced([BIN, ...fixtureBacktest('demo', out, '--json', '--reader-thread')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"trades"');
    expect(r.stdout).not.toContain('ArrayBufferDetaching');
  });

  it("--reader-thread --strict: the bad row's error, exit 2, no journal", () => {
    const dir = tmp();
    const ticks = join(dir, 'bad.csv');
    writeFileSync(
      ticks,
      'time,market,bid,ask\n2024-03-14T08:00:00Z,IX.D.DAX.DAILY.IP,100,101\n2024-03-14T08:00:01Z,IX.D.DAX.DAILY.IP,102,101\n',
    );
    const out = join(dir, 'out');
    const r = cli([
      'backtest',
      ticks,
      '--config',
      'fixtures/configs/trailing.yaml',
      '--out',
      out,
      '--strict',
      '--reader-thread',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.csv, line 3: crossed quote/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it.each([
    {
      why: 'a config with an invalid value names the key path',
      config: 'markets:\n  X:\n    pointSize: -1\n    decimals: 1\n',
      message: /markets.*X.*pointSize/,
    },
    { why: 'a missing config file says so', config: undefined, message: /config file not found/ },
    { why: 'a YAML syntax error names the line', config: 'markets: [\n  oops', message: /:\d+/ },
  ])('bad configuration: $why — exit 2, nothing written', ({ config, message }) => {
    const dir = tmp();
    const out = join(dir, 'out');
    const configPath = join(dir, 'c.yaml');
    if (config !== undefined) writeFileSync(configPath, config);
    const r = cli(['backtest', 'fixtures/ticks/IX.D.DAX.DAILY.IP-trailing.csv', '--config', configPath, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(out, 'trade_history.csv'))).toBe(false);
  });

  it('--strict stops at the first bad row with file and line, exit 2, and leaves no journal behind', () => {
    const dir = tmp();
    const ticks = join(dir, 'bad.csv');
    writeFileSync(
      ticks,
      'time,market,bid,ask\n2024-03-14T08:00:00Z,IX.D.DAX.DAILY.IP,100,101\n2024-03-14T08:00:01Z,IX.D.DAX.DAILY.IP,102,101\n',
    );
    const out = join(dir, 'out');
    const r = cli(['backtest', ticks, '--config', 'fixtures/configs/trailing.yaml', '--out', out, '--strict']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.csv');
    expect(r.stderr).toMatch(/line 3|:3\b/);
    expect(existsSync(join(out, 'trade_history.csv'))).toBe(false);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('without --strict bad rows are skipped and counted by kind', () => {
    const dir = tmp();
    const ticks = join(dir, 'bad.csv');
    writeFileSync(
      ticks,
      'time,market,bid,ask\n2024-03-14T08:00:00Z,IX.D.DAX.DAILY.IP,100,101\n2024-03-14T08:00:01Z,IX.D.DAX.DAILY.IP,102,101\nnot-a-time,IX.D.DAX.DAILY.IP,1,2\n2024-03-14T08:00:02Z,IX.D.DAX.DAILY.IP,0,1\n2024-03-14T07:00:00Z,IX.D.DAX.DAILY.IP,100,101\n',
    );
    const r = cli([
      'backtest',
      ticks,
      '--config',
      'fixtures/configs/trailing.yaml',
      '--out',
      join(dir, 'out'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ticks.skipped).toEqual({ malformed: 1, crossed: 1, nonPositive: 1, outOfOrder: 1 });
  });

  it.each([
    { why: 'an ISO time with a zone', from: '2024-03-14T08:00:01Z', ticks: 6 },
    { why: 'epoch milliseconds', from: '1710403201000', ticks: 6 },
    { why: 'a date alone (UTC midnight)', from: '2024-03-14', ticks: 7 },
    {
      why: 'a time without a zone read in --timezone (09:00:03 Berlin = 08:00:03Z)',
      from: '2024-03-14T09:00:03',
      tz: 'Europe/Berlin',
      ticks: 4,
    },
  ])('--from takes $why', ({ from, tz, ticks }) => {
    const args = fixtureBacktest('trailing', tmp(), '--json', '--from', from);
    if (tz !== undefined) args.push('--timezone', tz);
    const r = cli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ticks.ticks).toBe(ticks);
  });

  it('a --from that is not a time is an input error', () => {
    const r = cli(fixtureBacktest('trailing', tmp(), '--from', 'yesterday'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from yesterday');
  });

  it.each([
    { why: 'after --to', from: '2024-03-15', to: '2024-03-14' },
    { why: 'equal to --to (exclusive)', from: '2024-03-14T08:00:00Z', to: '1710403200000' },
  ])('a --from $why is an input error, not an empty backtest', ({ from, to }) => {
    const out = join(tmp(), 'out');
    const r = cli(fixtureBacktest('trailing', out, '--from', from, '--to', to));
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain(`--from ${from} is not before --to ${to}`);
    expect(existsSync(out), 'nothing is written').toBe(false);
  });

  it('an --out that is a file is an input error naming it, and the file is left alone', () => {
    const file = join(tmp(), 'notes.txt');
    writeFileSync(file, 'keep me\n');
    const r = cli(fixtureBacktest('trailing', file, '--json'));
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain(
      `cannot create the output directory ${file}: a file is in the way`,
    );
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });

  it.each([
    { what: 'backtest', command: ['backtest'], flags: ['--config', 'fixtures/configs/trailing.yaml', '--out', 'OUT'] },
    {
      what: 'backtest --sweep',
      command: ['backtest'],
      flags: ['--config', 'fixtures/configs/trailing.yaml', '--out', 'OUT', '--sweep', 'exits.trailing.distance=5,10'],
    },
    { what: 'ticks import', command: ['ticks', 'import'], flags: ['--out', 'OUT/cache.tgt'] },
  ])('$what given a directory of tick files says so (exit 2), and writes nothing', ({ command, flags }) => {
    const out = join(tmp(), 'out');
    const r = cli([...command, 'fixtures/ticks', ...flags.map((f) => f.replace('OUT', out)), '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('fixtures/ticks is a directory, not a tick file');
    expect(existsSync(out), 'nothing is written').toBe(false);
  });

  it('a missing tick file is an input error naming it', () => {
    const r = cli(['backtest', 'nope.csv', '--config', 'fixtures/configs/trailing.yaml', '--out', tmp()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.csv');
  });

  it('--help shows examples', () => {
    const r = cli(['backtest', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EXAMPLES');
  });

  it("a --timezone that is no IANA zone is the flag's error, exit 2", () => {
    const r = cli(fixtureBacktest('trailing', tmp(), '--timezone', 'Mars/Olympus', '--json'));
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe('--timezone Mars/Olympus is not an IANA time zone');
  });

  it('signal rows for a market the run does not trade (a typo) are said not to be executed', () => {
    const dir = tmp();
    const run = signalsBacktest(dir, 'time,market,direction,size\n2024-03-14T09:00:00Z,IX.D.DAX.DAILY.IPX,BUY,1\n');
    const r = run('out', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).alerts).toContainEqual({
      level: 'warn',
      message: `${join(dir, 'signals.csv')}: 1 signal row(s) for markets this run does not trade (IX.D.DAX.DAILY.IPX) are not executed`,
    });
  });

  it('--jobs or --rank without --sweep: a warning that they do not apply, and the backtest runs', () => {
    const r = cli(fixtureBacktest('trailing', tmp(), '--jobs', '2'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.replace(/\s*›\s*/g, ' ')).toContain('--jobs and --rank apply to --sweep only');
  });

  it('--timezone reads the signal times written without a zone, as it reads tick times (decisions 31)', () => {
    const dir = tmp();
    const run = signalsBacktest(dir, 'time,market,direction,size\n2024-03-14T09:00:00,IX.D.DAX.DAILY.IP,BUY,1\n');
    const entryTime = (...flags: string[]) => {
      const out = `out${flags.length}`;
      const r = run(out, ...flags);
      expect(r.code, r.stderr).toBe(0);
      const entry = readFileSync(join(dir, out, 'trade_history.csv'), 'utf8')
        .split('\n')
        .find((line) => line.includes(',ENTRY,'));
      return entry?.slice(0, 16);
    };
    expect(entryTime()).toBe('2024-03-14T09:00');
    // 09:00 in Berlin (UTC+1 in March) is 08:00Z.
    expect(entryTime('--timezone', 'Europe/Berlin')).toBe('2024-03-14T08:00');
  });

  it('a signal row whose stop is the entry price is said among the alerts (decisions 17)', () => {
    const dir = tmp();
    const run = signalsBacktest(
      dir,
      'time,market,direction,size,stopPoints\n2024-03-14T09:00:00Z,IX.D.DAX.DAILY.IP,BUY,1,0\n',
    );
    const zero = run('zero', '--json');
    expect(zero.code, zero.stderr).toBe(0);
    expect(JSON.parse(zero.stdout).alerts).toContainEqual({
      level: 'warn',
      message: `IX.D.DAX.DAILY.IP: 1 signal row of ${join(dir, 'signals.csv')} with stopPoints or limitPoints 0: a stop or take-profit at the entry price (widened to minStopDistance when set), reached as soon as the price is back there`,
    });
  });

  it.each([
    { kind: 'a backtest', signal: 'SIGINT' as const, code: 130, flags: [] as string[], fresh: false },
    {
      kind: 'a 2-job sweep',
      signal: 'SIGTERM' as const,
      code: 143,
      flags: ['--sweep', 'exits.trailing.distance=5,10', '--jobs', '2'],
      fresh: false,
    },
    {
      kind: 'a 2-job sweep into a new --out',
      signal: 'SIGINT' as const,
      code: 130,
      flags: ['--sweep', 'exits.trailing.distance=5,10', '--jobs', '2'],
      fresh: true,
    },
  ])(
    "$kind stopped by $signal removes the files it was writing and keeps an earlier run's",
    async ({ signal, code, flags, fresh }) => {
      const dir = tmp();
      // An entry module that stops for 100 ms every 2,000 ticks, on 12 days of ticks: the run is
      // still writing when the signal comes, and reaches the end of a 1 MiB chunk (where the
      // handler runs) within a second.
      writeFileSync(
        join(dir, 'slow.mjs'),
        `const cell = new Int32Array(new SharedArrayBuffer(4));
      export function createEntry() {
        let n = 0;
        return { onTick() { if (n++ % 2000 === 0) Atomics.wait(cell, 0, 0, 100); } };
      }\n`,
      );
      writeFileSync(
        join(dir, 'slow.yaml'),
        readFileSync(join(ROOT, 'fixtures/configs/demo.yaml'), 'utf8').replace(
          / {4}entry:\n( {6}.*\n)+/,
          '    entry: { kind: module, path: ./slow.mjs, size: 1 }\n',
        ),
      );
      const [header, ...day] = readFileSync(join(ROOT, 'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv'), 'utf8')
        .trimEnd()
        .split('\n');
      const days = Array.from({ length: 12 }, (_, k) =>
        day.map((line) => line.replace('2024-03-14', `2024-04-${String(k + 10)}`)).join('\n'),
      );
      const ticks = join(dir, 'days.csv');
      writeFileSync(ticks, `${header}\n${days.join('\n')}\n`);
      const out = join(dir, 'out');
      const earlier = ['earlier journal\n', 'earlier summary\n'];
      if (!fresh)
        for (const sub of flags.length > 0 ? ['1', '2'] : ['.']) {
          mkdirSync(join(out, sub), { recursive: true });
          writeFileSync(join(out, sub, 'trade_history.csv'), earlier[0]!);
          writeFileSync(join(out, sub, 'summary.json'), earlier[1]!);
        }
      const child = spawn(
        process.execPath,
        [BIN, 'backtest', ticks, '--config', join(dir, 'slow.yaml'), '--out', out, ...flags],
        { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const temps = () =>
        existsSync(out)
          ? readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'))
          : [];
      // Every run of it has its journal open under its temporary name.
      const wanted = flags.length > 0 ? 2 : 1;
      for (let i = 0; i < 200 && temps().length < wanted; i++) await new Promise((r) => setTimeout(r, 50));
      expect(temps().length, stderr).toBeGreaterThanOrEqual(wanted);
      child.kill(signal);
      const exit = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(exit, stderr).toBe(code);
      expect(stderr).toContain(`interrupted (${signal})`);
      expect(temps()).toEqual([]);
      // A new --out: the folders the run made, empty now, go with it.
      if (fresh) expect(existsSync(out)).toBe(false);
      else
        for (const sub of flags.length > 0 ? ['1', '2'] : ['.']) {
          expect(readFileSync(join(out, sub, 'trade_history.csv'), 'utf8')).toBe(earlier[0]);
          expect(readFileSync(join(out, sub, 'summary.json'), 'utf8')).toBe(earlier[1]);
        }
    },
  );
});
