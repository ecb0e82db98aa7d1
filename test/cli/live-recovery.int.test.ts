import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeIg, type FakeIg } from '../support/fake-ig/index.js';
import { JOURNAL_HEADER } from '../../src/core/adapters/files/journal-csv.js';
import { DAX, fakeIgFor, liveConfig, runCli, liveProcesses, waitFor } from '../support/live-harness.js';

// Live executes only signals dated after it started: the scenario runs a little in the future.
const T0 = Math.ceil(Date.now() / 1000) * 1000 + 20_000;

let fake: FakeIg | undefined;
const lives = liveProcesses();
const spawnLive = lives.start;
afterEach(async () => {
  lives.killAll();
  await fake?.close();
  fake = undefined;
});

const runSync = (configPath: string, f: FakeIg) => runCli(['sync', '--config', configPath, '--json'], f);

const rows = (journal: string) =>
  existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').slice(1) : [];

/** DAX under `strategy` (with a guard), signals: BUY 1 at T0 with stop 20; trailing from 10 points at 5. */
function setup(f: FakeIg, strategy = 'default') {
  const cfg = liveConfig(
    f,
    `pointSize: 1
decimals: 1
lotStep: 0.1
strategy: ${strategy}
entry: { kind: signals, file: ./signals.csv, size: 1 }
exits:
  trailing: { activateAt: 10, distance: 5 }`,
    `strategies:\n  ${strategy}:\n    guard: { maxDrawdown: -1000 }\n`,
  );
  writeFileSync(
    join(cfg.dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
  );
  return { ...cfg, stateFile: join(cfg.stateDir, `${DAX}.json`) };
}

async function subscribed(f: FakeIg, output: () => string) {
  await waitFor(
    () => f.subscriptions().includes(`CHART:${DAX}:TICK`),
    () => `live to subscribe:\n${output()}`,
    20_000,
  );
  // The server registers a subscription before the client has processed its SUBOK: wait for
  // the client to report the connection, and give it a moment.
  await waitFor(
    () => output().includes('stream CONNECTED'),
    () => `the stream to connect:\n${output()}`,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 300));
}

/**
 * `live` (strategy scalper, signals: BUY 1 at T0 with stop 20) killed as its open reaches the fake
 * IG: IG makes the deal (BUY at 101, stop 81), trailguard never reads the answer or writes a row.
 */
async function killedAtOpen() {
  let killOnOpen: (() => void) | undefined;
  fake = await startFakeIg({
    markets: [{ epic: DAX, bid: 100, ask: 101, minStopDistance: 0, decimals: 1 }],
    // Killed as the open reaches IG: IG makes the deal, trailguard never reads the answer.
    onRequest: (r) => {
      if (r.method === 'POST' && r.path === '/positions/otc') killOnOpen?.();
    },
  });
  const f = fake;
  const cfg = setup(f, 'scalper');
  const first = spawnLive(cfg.configPath, f);
  await subscribed(f, first.output);
  killOnOpen = () => first.child.kill('SIGKILL');
  f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 }); // the signal is due: BUY at 101, stop 81
  await first.exited;
  killOnOpen = undefined;
  expect(f.positions(), first.output()).toHaveLength(1);
  expect(rows(cfg.journal)).toEqual([]);
  const dealId = f.positions()[0]!.dealId;

  return { f, cfg, dealId };
}

/**
 * `live` (signals: BUY 1 at T0 with stop 20: IG opens at 101, stop 81) on a fake IG that calls
 * `onKill` as a request of `method` comes in; the run is SIGKILLed then, and the fake drops that
 * request without making it (the run stopped before it was on the wire) or, `executed`, makes it
 * and resets the connection (it stopped before the answer).
 */
async function killedAtRequest(method: 'DELETE' | 'PUT', marketYaml: string, executed: boolean) {
  const on: { request?: () => void } = {};
  fake = await startFakeIg({
    markets: [{ epic: DAX, bid: 100, ask: 101, minStopDistance: 0, decimals: 1 }],
    onRequest: (r) => {
      if (r.method === method && r.path.includes('/positions/otc')) on.request?.();
    },
  });
  const f = fake;
  const cfg = liveConfig(f, marketYaml);
  writeFileSync(
    join(cfg.dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
  );
  const stateFile = join(cfg.stateDir, `${DAX}.json`);
  const first = spawnLive(cfg.configPath, f);
  await subscribed(f, first.output);
  f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 });
  await waitFor(
    () => existsSync(stateFile) && f.positions().length === 1,
    () => `the entry to be saved:\n${first.output()}`,
  );
  f.failNext({ method, path: /^\/positions\/otc/ }, { status: 0, afterExecute: executed });
  on.request = () => first.child.kill('SIGKILL');
  return { f, cfg, stateFile, first, dealId: f.positions()[0]!.dealId };
}

/** DAX, signals: a ladder that closes half at 1R and the rest at 3R. */
const LADDER = `pointSize: 1
decimals: 1
lotStep: 0.1
entry: { kind: signals, file: ./signals.csv, size: 1 }
exits:
  ladder: { rungs: [{ at: 1, lock: 0, close: 0.5 }, { at: 3, lock: 1, close: 0.5 }] }`;

/** DAX, signals: trailing from 10 points at 5. */
const TRAILING = `pointSize: 1
decimals: 1
lotStep: 0.1
entry: { kind: signals, file: ./signals.csv, size: 1 }
exits:
  trailing: { activateAt: 10, distance: 5 }`;

describe('live recovery (built CLI against the fake IG)', () => {
  it('SIGKILL with a position open: the restart resumes it; the journal has no lost and no duplicated row', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal, stateFile } = setup(f);

    const first = spawnLive(configPath, f);
    await subscribed(f, first.output);
    f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 }); // the signal is due: BUY at 101, stop 81
    await waitFor(
      () => existsSync(stateFile) && f.positions().length === 1,
      () => `the entry to be saved:\n${first.output()}`,
    );
    f.pushTick({ epic: DAX, bid: 112, ask: 113, time: T0 + 1000 }); // profit 11: trailing active, stop 107
    await waitFor(
      () => f.positions()[0]?.stopLevel === 107,
      () => `the trailing amend:\n${first.output()}`,
    );
    await waitFor(
      () => JSON.parse(readFileSync(stateFile, 'utf8')).positions[0].trailingActive === true,
      'activation saved',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(rows(journal)).toHaveLength(1);

    const second = spawnLive(configPath, f);
    await subscribed(f, second.output);
    expect(rows(journal), 'the restart writes no row for a position it resumes').toHaveLength(1);
    f.pushTick({ epic: DAX, bid: 125, ask: 126, time: T0 + 2000 }); // trailing continues: stop 120
    await waitFor(
      () => f.positions()[0]?.stopLevel === 120,
      () => `the resumed trailing amend:\n${second.output()}`,
    );
    f.pushTick({ epic: DAX, bid: 119, ask: 120, time: T0 + 3000 }); // IG fills the stop at 119
    await waitFor(
      () => rows(journal).length === 2,
      () => `the exit row:\n${second.output()}`,
    );
    const [entry, exit] = rows(journal);
    expect(entry).toMatch(/,BUY,ENTRY,1,101,81,,,,SIGNAL,$/);
    expect(exit).toMatch(/,BUY,EXIT,1,119,120,18,18,0\.9,TRAILING_STOP,3$/);
    await waitFor(() => !existsSync(stateFile), 'the state file to be removed');

    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(rows(journal), second.output()).toHaveLength(2);

    // The guard holds the exit's P&L once, and the journal rows it holds; a later start adds nothing.
    const strategiesFile = join(dirname(stateFile), '_strategies.json');
    const guard = () => JSON.parse(readFileSync(strategiesFile, 'utf8'));
    expect(guard()).toMatchObject({ journalRows: 2, guards: { default: { realised: 18 } } });
    const r = await runSync(configPath, f);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).report.realisedFromJournal).toEqual([]);
    expect(guard()).toMatchObject({ journalRows: 2, guards: { default: { realised: 18 } } });
  }, 60_000);

  it('stopped between an ENTRY row and saving how far its signals were read: the restart does not enter that signal again', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal } = setup(f);
    // What such a run leaves: IG's position and its ENTRY row; no state at all.
    f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 });
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 1, level: 101, stopLevel: 81 });
    const entry = `${new Date(T0).toISOString()},${DAX},${dealId},default,BUY,ENTRY,1,101,81,,,,SIGNAL,`;
    writeFileSync(
      journal,
      `time,market,deal_id,strategy,direction,action,size,price,stop_level,pnl_points,pnl_amount,r_multiple,reason,held_seconds\n${entry}\n`,
    );
    const live = spawnLive(configPath, f);
    await subscribed(f, live.output);
    f.pushTick({ epic: DAX, bid: 102, ask: 103, time: T0 + 1000 }); // the signal of T0 is due on it, unseen
    await new Promise((r) => setTimeout(r, 500));
    live.child.kill('SIGTERM');
    expect(await live.exited, live.output()).toBe(0);
    expect(
      f.deals().filter((d) => d.kind === 'open'),
      live.output(),
    ).toHaveLength(1);
    expect(rows(journal)).toEqual([entry]);
  }, 60_000);

  it('a position closed on IG while live is down is recorded by sync, once', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal, stateFile } = setup(f);
    const live = spawnLive(configPath, f);
    await subscribed(f, live.output);
    f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 });
    await waitFor(
      () => existsSync(stateFile) && f.positions().length === 1,
      () => `the entry:\n${live.output()}`,
    );
    live.child.kill('SIGTERM');
    expect(await live.exited, live.output()).toBe(0);

    const dealId = f.positions()[0]!.dealId;
    f.pushTick({ epic: DAX, bid: 104, ask: 105, time: T0 + 3000 });
    f.closeExternally(dealId, 104);

    const sync = () => runSync(configPath, f);
    const r = await sync();
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.report.closedWhileAway).toMatchObject([{ dealId, level: 104, levelFrom: 'history' }]);
    expect(rows(journal)).toHaveLength(2);
    expect(rows(journal)[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,104,,3,3,0\\.15,CLOSED_EXTERNALLY,`));
    expect(existsSync(stateFile)).toBe(false);

    const again = await sync();
    expect(again.status, again.stderr).toBe(0);
    expect(rows(journal), 'a second sync writes nothing').toHaveLength(2);
  }, 60_000);

  it('SIGKILL between sending an open and reading its confirmation: the restart takes the position over with its ENTRY row, does not enter the signal again, and manages it', async () => {
    const { f, cfg, dealId } = await killedAtOpen();

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    expect(second.output()).toContain(
      `${dealId}: opened by an earlier run that stopped before its confirmation; taken over (scalper)`,
    );
    expect(rows(cfg.journal)).toEqual([
      `${new Date(T0).toISOString()},${DAX},${dealId},scalper,BUY,ENTRY,1,101,81,,,,SIGNAL,`,
    ]);
    // The signal is not entered again (the restart is within its time: it would be, unseen).
    f.pushTick({ epic: DAX, bid: 112, ask: 113, time: T0 + 1000 }); // profit 11: trailing active, stop 107
    await waitFor(
      () => f.positions()[0]?.stopLevel === 107,
      () => `the trailing amend:\n${second.output()}`,
    );
    expect(f.positions()).toHaveLength(1);
    f.pushTick({ epic: DAX, bid: 106, ask: 107, time: T0 + 2000 }); // IG fills the stop at 106
    await waitFor(
      () => rows(cfg.journal).length === 2,
      () => `the exit row:\n${second.output()}`,
    );
    expect(rows(cfg.journal)[1]).toMatch(
      new RegExp(`,${dealId},scalper,BUY,EXIT,1,106,107,5,5,0\\.25,TRAILING_STOP,2$`),
    );
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(f.positions()).toEqual([]);
    expect(rows(cfg.journal)).toHaveLength(2);
  }, 60_000);

  it("SIGKILL between sending an open and reading its confirmation, and IG closes it before the restart: its ENTRY and EXIT rows from IG's history, its P&L in the guard, the signal not entered again", async () => {
    const { f, cfg, dealId } = await killedAtOpen();
    f.pushTick({ epic: DAX, bid: 80, ask: 81, time: T0 + 1000 }); // no trailguard: IG fills the stop at 80
    expect(f.positions()).toEqual([]);

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    expect(rows(cfg.journal), second.output()).toEqual([
      `${new Date(T0).toISOString()},${DAX},${dealId},scalper,BUY,ENTRY,1,101,81,,,,SIGNAL,`,
      `${new Date(T0 + 1000).toISOString()},${DAX},${dealId},scalper,BUY,EXIT,1,80,81,-21,-21,-1.05,CLOSED_EXTERNALLY,1`,
    ]);
    f.pushTick({ epic: DAX, bid: 90, ask: 91, time: T0 + 2000 });
    await new Promise((r) => setTimeout(r, 500));
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(
      f.deals().filter((d) => d.kind === 'open'),
      'no second open',
    ).toHaveLength(1);
    expect(rows(cfg.journal)).toHaveLength(2);
    const strategies = JSON.parse(readFileSync(join(cfg.stateDir, '_strategies.json'), 'utf8'));
    expect(strategies.guards.scalper).toMatchObject({ realised: -21 });
  }, 60_000);

  it('a journal that cannot be written (a full disk) stops live at once (exit 1), with no half row; sync then writes the ENTRY from IG', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal, stateFile } = setup(f);
    // An earlier session's trades fill the journal to 50 bytes under the 1 KB this live may write:
    // the next row (~100 bytes) is written in part, then fails.
    const pair = (id: string) =>
      `2024-01-02T10:00:00.000Z,${DAX},${id},default,BUY,ENTRY,1,100,80,,,,SIGNAL,\n` +
      `2024-01-02T10:05:00.000Z,${DAX},${id},default,BUY,EXIT,1,105,100,5,5,0.25,TRAILING_STOP,300\n`;
    let earlier = `${JOURNAL_HEADER}`;
    for (let n = 1; (earlier + pair(`OLD${n}`)).length <= 974; n++) earlier += pair(`OLD${n}`);
    const last = `OLDX${'X'.repeat(Math.floor((974 - earlier.length) / 2))}`;
    earlier = earlier.slice(0, earlier.lastIndexOf(`2024-01-02T10:00:00.000Z`)) + pair(last);
    writeFileSync(journal, earlier);
    expect(earlier.length).toBeGreaterThan(1024 - 60);

    const first = spawnLive(configPath, f, { maxFileKb: 1 });
    await subscribed(f, first.output);
    f.pushTick({ epic: DAX, bid: 100, ask: 101, time: T0 }); // the signal is due: BUY at 101, stop 81
    expect(await first.exited, first.output()).toBe(1);
    expect(first.output()).toMatch(/cannot write the journal .*trade_history\.csv: EFBIG/);
    expect(readFileSync(journal, 'utf8'), 'the journal as it was: no half row').toBe(earlier);
    expect(existsSync(stateFile), 'nothing saved after the failed row').toBe(false);
    expect(f.positions(), 'the deal IG made stays, with its stop').toMatchObject([{ level: 101, stopLevel: 81 }]);

    const sync = await runSync(configPath, f);
    expect(sync.status, sync.stderr).toBe(0);
    const after = rows(journal);
    expect(after.slice(0, -1).join('\n'), 'the earlier rows untouched').toBe(
      earlier.trim().split('\n').slice(1).join('\n'),
    );
    expect(after.at(-1)).toMatch(new RegExp(`,${f.positions()[0]!.dealId},default,BUY,ENTRY,1,101,81,,,,SIGNAL,$`));
  }, 60_000);

  it("SIGKILL before a ladder rung's close is on the wire: the restart sends that close (PROFIT_TARGET) before any tick; no row lost or written twice", async () => {
    const { f, cfg, stateFile, first, dealId } = await killedAtRequest('DELETE', LADDER, false);
    f.pushTick({ epic: DAX, bid: 121, ask: 122, time: T0 + 1000 }); // 1R: the rung closes 0.5
    await first.exited;
    // (The rung's breakeven amend goes out beside the close, and may reach IG first.)
    expect(f.positions(), 'IG never received the close').toMatchObject([{ size: 1 }]);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')).positions[0];
    expect(saved).toMatchObject({ size: 1, ladderNext: 1, closesSent: [{ size: 0.5, reason: 'PROFIT_TARGET' }] });
    expect(rows(cfg.journal)).toHaveLength(1);

    // sync (cron) makes no deal: it says so, exits 1, and keeps the close for live.
    const sync = await runSync(cfg.configPath, f);
    expect(sync.status, sync.stderr).toBe(1);
    expect(JSON.parse(sync.stdout)).toMatchObject({
      inSync: false,
      report: { unsentCloses: [{ dealId, size: 0.5, reason: 'PROFIT_TARGET' }] },
    });
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).positions[0]).toMatchObject({
      size: 1,
      ladderNext: 1,
      closesSent: [{ size: 0.5, reason: 'PROFIT_TARGET' }],
    });
    expect(f.positions()).toMatchObject([{ size: 1 }]);

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    await waitFor(
      () => rows(cfg.journal).length === 2,
      () => `the close sent again:\n${second.output()}`,
    );
    expect(second.output()).toContain(
      `${dealId}: the PROFIT_TARGET close of 0.5 that the last run sent was never executed by IG (it stopped first); sending it again`,
    );
    // stop_level: IG's stop when the close went out again (the breakeven amend may have been made).
    expect(rows(cfg.journal)[1]).toMatch(
      new RegExp(`,${dealId},default,BUY,PARTIAL,0\\.5,121,(81|101),20,10,1,PROFIT_TARGET,`),
    );
    expect(f.positions()).toMatchObject([{ size: 0.5 }]);
    await waitFor(() => JSON.parse(readFileSync(stateFile, 'utf8')).positions[0].size === 0.5, 'the close saved');
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).positions[0].closesSent).toBeUndefined();
    // The rung is not fired again; its lock keeps the stop at breakeven.
    f.pushTick({ epic: DAX, bid: 122, ask: 123, time: T0 + 2000 });
    await waitFor(
      () => f.positions()[0]?.stopLevel === 101,
      () => `the breakeven stop:\n${second.output()}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(f.positions()).toMatchObject([{ size: 0.5 }]);
    expect(f.deals().filter((d) => d.kind !== 'open')).toHaveLength(1);
    expect(rows(cfg.journal)).toHaveLength(2);
  }, 60_000);

  it("SIGKILL as a ladder rung's close reaches IG, before its answer: the restart finds the close made, writes its row once and sends nothing again", async () => {
    const { f, cfg, first, dealId } = await killedAtRequest('DELETE', LADDER, true);
    f.pushTick({ epic: DAX, bid: 121, ask: 122, time: T0 + 1000 });
    await first.exited;
    expect(f.positions(), 'IG made the close').toMatchObject([{ size: 0.5 }]);

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    f.pushTick({ epic: DAX, bid: 122, ask: 123, time: T0 + 2000 });
    await waitFor(
      () => f.positions()[0]?.stopLevel === 101,
      () => `the breakeven amend:\n${second.output()}`,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).not.toContain('sending it again');
    expect(f.positions(), 'no second close').toMatchObject([{ size: 0.5 }]);
    expect(rows(cfg.journal)).toHaveLength(2);
    expect(rows(cfg.journal)[1]).toMatch(
      new RegExp(`,${dealId},default,BUY,PARTIAL,0\\.5,121,,20,10,1,CLOSED_EXTERNALLY,`),
    );
  }, 60_000);

  it("SIGKILL before a trailing activation's amend is on the wire: the initial stop's fill is a STOP, not a TRAILING_STOP", async () => {
    const { f, cfg, stateFile, first, dealId } = await killedAtRequest('PUT', TRAILING, false);
    f.pushTick({ epic: DAX, bid: 112, ask: 113, time: T0 + 1000 }); // trailing active: amend to 107
    await first.exited;
    expect(f.positions(), 'IG never received the amend').toMatchObject([{ stopLevel: 81 }]);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).positions[0]).toMatchObject({
      trailingActive: true,
      stopReason: 'STOP',
      amendsSent: [{ level: 107, reason: 'TRAILING_STOP' }],
    });

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    f.pushTick({ epic: DAX, bid: 80, ask: 81, time: T0 + 2000 }, { fillFirst: true }); // IG fills its stop at 80
    await waitFor(
      () => rows(cfg.journal).length === 2,
      () => `the exit row:\n${second.output()}`,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(rows(cfg.journal)[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,80,81,-21,-21,-1\\.05,STOP,2$`));
  }, 60_000);

  it("SIGKILL as a trailing activation's amend reaches IG, before its answer: a fill of that stop is a TRAILING_STOP", async () => {
    const { f, cfg, first, dealId } = await killedAtRequest('PUT', TRAILING, true);
    f.pushTick({ epic: DAX, bid: 112, ask: 113, time: T0 + 1000 });
    await first.exited;
    expect(f.positions(), 'IG made the amend').toMatchObject([{ stopLevel: 107 }]);

    const second = spawnLive(cfg.configPath, f);
    await subscribed(f, second.output);
    f.pushTick({ epic: DAX, bid: 106, ask: 107, time: T0 + 2000 }, { fillFirst: true }); // IG fills at 106
    await waitFor(
      () => rows(cfg.journal).length === 2,
      () => `the exit row:\n${second.output()}`,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
    expect(rows(cfg.journal)[1]).toMatch(
      new RegExp(`,${dealId},default,BUY,EXIT,1,106,107,5,5,0\\.25,TRAILING_STOP,2$`),
    );
  }, 60_000);
});
