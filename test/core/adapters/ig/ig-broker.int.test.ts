/**
 * IgBroker against the fake IG server on 127.0.0.1: a real IgRestClient and, where the stream
 * matters, a real IgStream (real timers: the fake's keepalives need them). The settle wait of
 * SPEC §3.2 runs on hand-fired timers. Events are collected from the broker's handler.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../../../src/core/ports/broker.js';
import { findClose } from '../../../../src/core/adapters/ig/history.js';
import type { PositionUpdate } from '../../../../src/core/adapters/ig/mapper.js';
import type { IgTradeEvent } from '../../../../src/core/adapters/ig/stream.js';
import {
  amendAction,
  closeAction,
  countsFor,
  DAX_CONFIG,
  EPIC,
  openAction,
  openReference,
  openThroughBroker,
  quiet,
  sleep,
  startHarness,
  updatesOf,
  waitFor,
  type Harness,
  type HarnessOptions,
} from './ig-broker-harness.js';

let current: Harness | undefined;

afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function harness(options: HarnessOptions = {}): Promise<Harness> {
  current = await startHarness(options);
  return current;
}

function ofType<T extends BrokerEvent['type']>(
  events: readonly BrokerEvent[],
  type: T,
): Extract<BrokerEvent, { type: T }>[] {
  return events.filter((e): e is Extract<BrokerEvent, { type: T }> => e.type === type);
}

/** A TRADE OPU as IgStream hands it over, for updates fed by hand (their timing is then certain). */
function opu(
  update: Partial<PositionUpdate> & Pick<PositionUpdate, 'dealId' | 'status' | 'level' | 'size' | 'time'>,
): IgTradeEvent {
  return {
    kind: 'position',
    update: { market: EPIC, direction: 'BUY', dealStatus: 'ACCEPTED', channel: 'PublicRestOTC', ...update },
  };
}

function requests(h: Harness, method: string, path: string | RegExp) {
  return h.ig
    .requests()
    .filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
}

describe('IgBroker: our own deals', () => {
  it('open: positionOpened with our ref, the fill level and the confirmed levels, never inside submit', async () => {
    const h = await harness({ stream: true });
    h.broker.submit(openAction('A1', { stopLevel: 17990, limitLevel: 18040 }));
    expect(h.events, 'events are delivered after the REST answer, not inside submit').toEqual([]);
    await h.broker.drain();

    const posts = requests(h, 'POST', '/positions/otc');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toMatchObject({ dealReference: openReference('A1'), stopLevel: 17990, limitLevel: 18040 });
    const [position] = h.ig.positions();
    expect(position).toBeDefined();
    const dealId = position?.dealId ?? '';
    expect(h.events).toEqual([
      {
        type: 'positionOpened',
        time: h.t0,
        ref: 'A1',
        dealId,
        market: EPIC,
        direction: 'BUY',
        size: 1,
        level: 18001, // a BUY fills at the ask
        stopLevel: 17990,
        limitLevel: 18040,
        strategy: 'scalper',
      },
    ]);
    // the stream's OPEN update of our own deal is an echo
    await waitFor('the OPEN update', () => updatesOf(h, dealId).includes('OPEN'));
    await quiet(h);
    expect(h.events).toHaveLength(1);
  });

  it('amend accepted: positionAmended with its ref and the new levels; the UPDATED echo adds nothing', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(amendAction('A2', dealId, 17993));
    await h.broker.drain();
    expect(h.events.slice(1)).toEqual([
      { type: 'positionAmended', time: h.t0, ref: 'A2', dealId, stopLevel: 17993, limitLevel: undefined },
    ]);
    expect(h.ig.positions()[0]?.stopLevel).toBe(17993);
    await waitFor('the UPDATED echo', () => updatesOf(h, dealId).includes('UPDATED'));
    await quiet(h);
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionAmended: 1 });
  });

  it('amend with a stop too close: actionRejected with IG reason, nothing else', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(amendAction('A2', dealId, 17998)); // 2 points under the bid; IG's minimum is 6
    await h.broker.drain();
    await quiet(h);
    expect(h.events.slice(1)).toEqual([
      { type: 'actionRejected', time: h.t0, ref: 'A2', reason: 'ATTACHED_ORDER_LEVEL_ERROR' },
    ]);
    expect(h.ig.positions()[0]?.stopLevel, 'IG kept the old stop').toBe(17990);
  });

  it('amends coalesced by the client: a superseded amend is reported with the one that replaced it', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(amendAction('A2', dealId, 17991));
    await waitFor('A2 on the wire', () => requests(h, 'PUT', `/positions/otc/${dealId}`).length === 1);
    h.broker.submit(amendAction('A3', dealId, 17992)); // waits behind A2, then is replaced by A4
    h.broker.submit(amendAction('A4', dealId, 17993));
    await h.broker.drain();
    expect(requests(h, 'PUT', `/positions/otc/${dealId}`)).toHaveLength(2);
    expect(h.events.slice(1).map((e) => [e.type, 'ref' in e ? e.ref : undefined])).toEqual([
      ['positionAmended', 'A2'],
      ['positionAmended', 'A3'],
      ['positionAmended', 'A4'],
    ]);
    expect(h.ig.positions()[0]?.stopLevel).toBe(17993);
    await quiet(h);
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionAmended: 3 });
  });

  it('a superseded amend shares the rejection of the amend that replaced it, latest first', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(amendAction('A2', dealId, 17991));
    await waitFor('A2 on the wire', () => requests(h, 'PUT', `/positions/otc/${dealId}`).length === 1);
    h.broker.submit(amendAction('A3', dealId, 17992));
    h.broker.submit(amendAction('A4', dealId, 17998)); // too close: rejected
    await h.broker.drain();
    const after = h.events.slice(1);
    expect(after.map((e) => [e.type, 'ref' in e ? e.ref : undefined])).toEqual([
      ['positionAmended', 'A2'],
      ['actionRejected', 'A4'],
      ['actionRejected', 'A3'],
    ]);
    expect(after[2]).toMatchObject({ reason: expect.stringContaining('superseded by amend A4') });
    expect(h.ig.positions()[0]?.stopLevel).toBe(17991);
  });

  it('close, partial then full: positionClosed with the confirm levels and sizes', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.tick(18005, 18006, h.t0 + 1000);
    h.broker.submit(closeAction('A2', dealId, 0.4));
    await h.broker.drain();
    h.tick(18007, 18008, h.t0 + 2000);
    h.broker.submit(closeAction('A3', dealId, 0.6));
    await h.broker.drain();
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, ref: 'A2', dealId, size: 0.4, level: 18005, cause: 'action' },
      { type: 'positionClosed', time: h.t0 + 2000, ref: 'A3', dealId, size: 0.6, level: 18007, cause: 'action' },
    ]);
    expect(h.ig.positions()).toEqual([]);
  });

  it('a close IG refuses outright (HTTP 400 with an IG error code) is a rejection, not an outcome unknown', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.failNext(
      { method: 'DELETE', path: '/positions/otc' },
      { status: 400, body: { errorCode: 'error.service.otc.market.closed' } },
    );
    h.broker.submit(closeAction('A2', dealId, 1));
    await h.broker.drain();
    expect(ofType(h.events, 'actionRejected')).toMatchObject([
      { type: 'actionRejected', ref: 'A2', reason: 'error.service.otc.market.closed' },
    ]);
    expect(h.logs.filter((l) => l.includes('outcome unknown'))).toEqual([]);
    expect(h.logs).toContain(`broker warn close A2 of ${dealId} rejected by IG: error.service.otc.market.closed`);
    expect(h.ig.positions()).toHaveLength(1);
  });

  it("a bare HTTP 400 without IG's error code is no refusal: the open IG made is found, not dropped", async () => {
    const h = await harness({ stream: true });
    h.ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 400, body: {}, afterExecute: true });
    h.broker.submit(openAction('A1'));
    await h.broker.drain();
    await new Promise((r) => setTimeout(r, 100)); // the stream's OPU of the open
    expect(h.ig.positions(), 'IG made the open').toHaveLength(1);
    expect(h.logs.filter((l) => l.includes('rejected by IG'))).toEqual([]);
    expect(ofType(h.events, 'positionOpened').map((e) => e.dealId)).toEqual([h.ig.positions()[0]!.dealId]);
  });

  it('a close IG made whose answer was lost is never called refused, even when a read to settle it fails', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.failNext({ method: 'DELETE', path: '/positions/otc' }, { status: 500, afterExecute: true });
    h.ig.failNext({ method: 'GET', path: '/history/activity' }, { status: 200, body: { unexpected: true }, times: 5 });
    h.broker.submit(closeAction('A2', dealId, 1));
    await h.broker.drain();
    expect(h.ig.positions(), 'IG made the close').toEqual([]);
    expect(h.logs.filter((l) => l.includes('rejected by IG'))).toEqual([]);
    for (const e of ofType(h.events, 'actionRejected')) expect(e.reason).toMatch(/^OUTCOME_UNKNOWN/);
  });

  it('the OPU echoes of our own open, amend, partial and full close produce no events', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(amendAction('A2', dealId, 17993));
    await h.broker.drain();
    h.tick(18005, 18006, h.t0 + 1000);
    h.broker.submit(closeAction('A3', dealId, 0.5));
    await h.broker.drain();
    h.broker.submit(closeAction('A4', dealId, 0.5));
    await h.broker.drain();
    await waitFor('every echo', () => updatesOf(h, dealId).length === 4);
    expect(updatesOf(h, dealId)).toEqual(['OPEN', 'UPDATED', 'UPDATED', 'DELETED']);
    await quiet(h);
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionAmended: 1, positionClosed: 2 });
    expect(
      h.events.every((e) => 'ref' in e && e.ref !== undefined),
      'every event answers one of our actions',
    ).toBe(true);
  });

  it('two partial closes of one deal in flight at once (two rungs on one tick): their echoes change nothing', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.tick(18005, 18006, h.t0 + 1000);
    h.broker.submit(closeAction('A2', dealId, 0.4));
    h.broker.submit(closeAction('A3', dealId, 0.3));
    await h.broker.drain();
    await waitFor('every echo', () => updatesOf(h, dealId).length === 3);
    await quiet(h);
    expect(h.ig.positions().map((p) => p.size)).toEqual([0.3]);
    expect(ofType(h.events, 'positionClosed').map((e) => [e.ref, e.size, e.cause])).toEqual([
      ['A2', 0.4, 'action'],
      ['A3', 0.3, 'action'],
    ]);
    // The broker still follows 0.3: closing 0.3 closes the position, with no close of ours missing.
    h.broker.submit(closeAction('A4', dealId, 0.3));
    await h.broker.drain();
    await quiet(h);
    expect(h.ig.positions()).toEqual([]);
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionClosed: 3 });
    expect(h.logs.filter((l) => /more than the|no history|external/.test(l))).toEqual([]);
  });

  it('a late echo of a size the position had after one of our partial closes is not news', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    h.tick(18005, 18006, h.t0 + 1000);
    h.broker.submit(closeAction('A2', dealId, 0.4));
    h.broker.submit(closeAction('A3', dealId, 0.3));
    await h.broker.drain();
    // The stream's update after the first close arrives after both were confirmed.
    h.broker.onTradeEvent(
      opu({ dealId, status: 'UPDATED', level: 18000, size: 0.6, time: h.t0 + 1000, stopLevel: 17990 }),
    );
    h.broker.onTradeEvent(
      opu({ dealId, status: 'UPDATED', level: 18000, size: 0.3, time: h.t0 + 1000, stopLevel: 17990 }),
    );
    await h.broker.drain();
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionClosed: 2 });
    // A size trailguard never knew still wins (IG's positions are the truth).
    h.broker.onTradeEvent(
      opu({ dealId, status: 'UPDATED', level: 18000, size: 0.5, time: h.t0 + 2000, stopLevel: 17990 }),
    );
    h.broker.onTradeEvent(
      opu({ dealId, status: 'UPDATED', level: 18000, size: 0.3, time: h.t0 + 3000, stopLevel: 17990 }),
    );
    await h.broker.drain();
    await quiet(h);
    expect(ofType(h.events, 'positionClosed').map((e) => [e.ref, e.size, e.cause])).toEqual([
      ['A2', 0.4, 'action'],
      ['A3', 0.3, 'action'],
      [undefined, 0.2, 'external'],
    ]);
  });

  it('REST 500 on an open IG executed: ONE POST, settled through /confirms, positionOpened emitted', async () => {
    const h = await harness();
    h.ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500, afterExecute: true });
    h.broker.submit(openAction('A1'));
    await h.broker.drain();
    expect(requests(h, 'POST', '/positions/otc'), 'a deal is never re-sent').toHaveLength(1);
    expect(requests(h, 'GET', `/confirms/${openReference('A1')}`).length).toBeGreaterThan(0);
    expect(h.events).toMatchObject([{ type: 'positionOpened', ref: 'A1', level: 18001, size: 1 }]);
  });

  it('REST 500 on an open IG never executed: ONE POST, actionRejected saying the outcome is unknown', async () => {
    const h = await harness();
    h.ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500 });
    h.broker.submit(openAction('A1'));
    await h.broker.drain();
    expect(requests(h, 'POST', '/positions/otc')).toHaveLength(1);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({
      type: 'actionRejected',
      ref: 'A1',
      reason: expect.stringMatching(/OUTCOME_UNKNOWN.*reconciled/),
    });
    expect(h.logs.some((l) => l.startsWith('broker error'))).toBe(true);
  });

  it('drain() resolves only once every request in flight has settled and its event was delivered', async () => {
    const h = await harness();
    h.broker.submit(openAction('A1'));
    h.broker.submit(openAction('A2', { direction: 'SELL', expectedLevel: 18000, stopLevel: 18010 }));
    expect(h.events).toEqual([]);
    await h.broker.drain();
    expect(
      ofType(h.events, 'positionOpened')
        .map((e) => e.ref)
        .sort(),
    ).toEqual(['A1', 'A2']);
    expect(h.rest.pendingDeals).toBe(0);
    await h.broker.drain(); // nothing in flight: resolves at once
  });
});

describe('IgBroker: broker-side and external changes from the stream', () => {
  it('a stop hit by a tick: exactly one positionClosed, cause stop, at the bid', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1'); // stop 17990
    h.tick(17985, 17986, h.t0 + 1000); // gaps through the stop: fills at the bid
    await waitFor('the close', () => ofType(h.events, 'positionClosed').length > 0);
    await quiet(h);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 1, level: 17985, cause: 'stop' },
    ]);
    expect(h.timers.pending(), 'the settle wait ends with the close').toBe(0);
  });

  it('a limit hit: cause limit, at the limit', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1', { limitLevel: 18020 });
    h.tick(18025, 18026, h.t0 + 1000);
    await waitFor('the close', () => ofType(h.events, 'positionClosed').length > 0);
    await quiet(h);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 1, level: 18020, cause: 'limit' },
    ]);
  });

  it('closed on the platform: cause external, at the platform level', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.closeExternally(dealId, 17995);
    await waitFor('the close', () => ofType(h.events, 'positionClosed').length > 0);
    await quiet(h);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0, dealId, size: 1, level: 17995, cause: 'external' },
    ]);
  });

  it('partly closed on the platform: the closed size, at the fill level found in the activity', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.closeExternally(dealId, 18003, 0.4); // the OPU says UPDATED, size 0.6, at the OPENING level
    await waitFor('the partial close', () => ofType(h.events, 'positionClosed').length > 0);
    await quiet(h);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0, dealId, size: 0.4, level: 18003, cause: 'external' },
    ]);
    expect(requests(h, 'GET', '/history/activity').length).toBeGreaterThan(0);
    // the rest is still followed: a stop hit now closes the 0.6 left
    h.tick(17985, 17986, h.t0 + 1000);
    await waitFor('the stop', () => ofType(h.events, 'positionClosed').length > 1);
    expect(ofType(h.events, 'positionClosed')[1]).toMatchObject({ size: 0.6, level: 17985, cause: 'stop' });
  });

  it('opened on the platform while running, on a market whose entry kind is not none: reported, not adopted', async () => {
    const h = await harness({
      stream: true,
      broker: { markets: [{ ...DAX_CONFIG, entry: { kind: 'signals', file: 'signals.csv', size: 1 } }] },
    });
    const dealId = h.ig.openExternally({ epic: EPIC, direction: 'SELL', size: 2, level: 18000, stopLevel: 18020 });
    await waitFor('the report', () => h.logs.some((l) => l.includes(`${dealId} is not managed`)));
    h.tick(18020, 18021, h.t0 + 1000); // its stop fills on IG: nothing for this run either
    await sleep(100);
    expect(h.events).toEqual([]);
    expect(h.logs.find((l) => l.includes(dealId))).toContain('entry kind is signals (only kind none adopts)');
  });

  it('opened on the platform: positionOpened without ref, then followed like ours', async () => {
    const h = await harness({ stream: true });
    const dealId = h.ig.openExternally({ epic: EPIC, direction: 'SELL', size: 2, level: 18000, stopLevel: 18020 });
    await waitFor('the adoption', () => h.events.length > 0);
    expect(h.events).toEqual([
      {
        type: 'positionOpened',
        time: h.t0,
        dealId,
        market: EPIC,
        direction: 'SELL',
        size: 2,
        level: 18000,
        stopLevel: 18020,
        limitLevel: undefined,
      },
    ]);
    expect(h.events[0] && 'ref' in h.events[0] ? h.events[0].ref : undefined).toBeUndefined();
    h.tick(18020, 18021, h.t0 + 1000); // a SELL's stop is hit at the ask
    await waitFor('the stop', () => ofType(h.events, 'positionClosed').length > 0);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 2, level: 18021, cause: 'stop' },
    ]);
  });

  it('our close racing a stop fill: one positionClosed (stop) and one actionRejected', async () => {
    const h = await harness({ stream: true });
    const dealId = await openThroughBroker(h, 'A1');
    await waitFor('the OPEN update', () => updatesOf(h, dealId).includes('OPEN'));
    h.broker.submit(closeAction('A2', dealId, 1));
    // the stop fills before our close reaches IG (submit sends nothing synchronously)
    h.tick(17985, 17986, h.t0 + 1000);
    await waitFor(
      'both outcomes',
      () => ofType(h.events, 'positionClosed').length > 0 && ofType(h.events, 'actionRejected').length > 0,
    );
    await quiet(h);
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 1, level: 17985, cause: 'stop' },
    ]);
    expect(ofType(h.events, 'actionRejected')).toEqual([
      { type: 'actionRejected', time: h.t0 + 1000, ref: 'A2', reason: 'POSITION_NOT_AVAILABLE_TO_CLOSE' },
    ]);
    expect(requests(h, 'DELETE', '/positions/otc'), 'the close was sent once').toHaveLength(1);
  });
});

/** A harness whose fake IG runs `hook` once, as the first request of `method` reaches it (before IG answers it). */
async function harnessWithHook(method: string): Promise<{ h: Harness; once: (hook: () => void) => void }> {
  let pending: (() => void) | undefined;
  const h = await harness({
    stream: true,
    onRequest: (r) => {
      if (r.method !== method || pending === undefined) return;
      const hook = pending;
      pending = undefined;
      hook();
    },
  });
  return { h, once: (hook) => (pending = hook) };
}

describe("IgBroker: a change on IG's platform crossing our own deal in flight (docs/decisions.md 51)", () => {
  it("the trader's levels set as our amend reaches IG: IG applied ours after them, so ours stand, with a warning", async () => {
    const { h, once } = await harnessWithHook('PUT');
    const dealId = await openThroughBroker(h, 'A1'); // stop 17990, no limit
    await waitFor('the OPEN update', () => updatesOf(h, dealId).includes('OPEN'));
    // As our amend to 17993 reaches IG, the trader tightens the stop to 17994 and sets a limit on
    // IG's platform; IG then applies our amend, which replaces both levels.
    once(() => h.ig.amendExternally(dealId, { stopLevel: 17994, limitLevel: 18050 }));
    h.broker.submit(amendAction('A2', dealId, 17993));
    await h.broker.drain();
    await waitFor('both updates', () => updatesOf(h, dealId).filter((s) => s === 'UPDATED').length === 2);
    await quiet(h);
    expect(h.ig.positions()[0]).toMatchObject({ stopLevel: 17993, limitLevel: null });
    expect(h.events.slice(1), "the trader's update is older than our amend: no news").toEqual([
      { type: 'positionAmended', time: h.t0, ref: 'A2', dealId, stopLevel: 17993, limitLevel: undefined },
    ]);
    expect(h.broker.trackedPositions()[0], "the broker follows IG's levels").toMatchObject({
      stopLevel: 17993,
      limitLevel: undefined,
    });
    expect(h.logs.filter((l) => l.startsWith('broker warn'))).toEqual([
      `broker warn ${dealId}: levels 17994|18050 were set on IG's platform while our amend to 17993|- was in flight, and IG applied our amend after them: its stop is 17993, looser than the 17994 set there; its limit is none, not the 18050 set there. Set them again on IG if you want them`,
    ]);
    // After our amend's own update, what the trader sets is news again.
    h.ig.amendExternally(dealId, { stopLevel: 17994 });
    await waitFor('the platform amend', () => h.events.length > 2);
    expect(h.events.slice(2)).toEqual([
      { type: 'positionAmended', time: h.t0, dealId, stopLevel: 17994, limitLevel: undefined },
    ]);
  });

  it("the trader's partial close crossing ours: each close with its size, and the broker follows what IG holds", async () => {
    const { h, once } = await harnessWithHook('DELETE');
    const dealId = await openThroughBroker(h, 'A1');
    await waitFor('the OPEN update', () => updatesOf(h, dealId).includes('OPEN'));
    h.tick(18005, 18006, h.t0 + 1000);
    // As our close of 0.5 reaches IG, the trader closes 0.3 on IG's platform: 1 → 0.7 → 0.2.
    once(() => h.ig.closeExternally(dealId, undefined, 0.3));
    h.broker.submit(closeAction('A2', dealId, 0.5));
    await h.broker.drain();
    await waitFor('both updates', () => updatesOf(h, dealId).length === 3);
    await quiet(h);
    expect(h.ig.positions().map((p) => p.size)).toEqual([0.2]);
    expect(ofType(h.events, 'positionClosed'), 'the sizes add up to what IG did').toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, ref: 'A2', dealId, size: 0.5, level: 18005, cause: 'action' },
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 0.3, level: 18005, cause: 'external' },
    ]);
    expect(h.broker.trackedPositions().map((t) => t.size)).toEqual([0.2]);
    expect(h.logs.filter((l) => l.includes('more than the'))).toEqual([]);
    // The 0.2 IG holds is still followed: closing it closes the position.
    h.broker.submit(closeAction('A3', dealId, 0.2));
    await h.broker.drain();
    await quiet(h);
    expect(h.ig.positions()).toEqual([]);
    expect(ofType(h.events, 'positionClosed').slice(2)).toMatchObject([{ ref: 'A3', size: 0.2 }]);
    expect(h.broker.trackedPositions()).toEqual([]);
  });
});

describe('IgBroker: settling a reached stop without a close (SPEC §3.2)', () => {
  it('no update arrives: after the wait, IG says the position is gone and the activity gives the exit', async () => {
    const h = await harness(); // no stream: IG's fill update never reaches the broker
    const dealId = await openThroughBroker(h, 'A1');
    h.clock.set(h.t0 + 12_000);
    h.tick(17985, 17986, h.t0 + 2000);
    expect(h.timers.pending()).toBe(1);
    expect(h.timers.armed[0]?.ms).toBe(10_000);
    await quiet(h, 20);
    expect(ofType(h.events, 'positionClosed'), 'nothing before the wait is over').toEqual([]);

    h.timers.fire();
    await h.broker.drain();
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 2000, dealId, size: 1, level: 17985, cause: 'stop' },
    ]);
    expect(requests(h, 'GET', `/positions/${dealId}`)).toHaveLength(1);
    expect(requests(h, 'GET', '/history/activity').length).toBeGreaterThan(0);
    // reported once: a later tick beyond the old stop arms nothing
    h.tick(17980, 17981, h.t0 + 3000);
    expect(h.timers.pending()).toBe(0);
  });

  it('the activity cannot be read: the transactions give the exit', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    h.tick(17985, 17986, h.t0 + 2000);
    h.ig.failNext({ method: 'GET', path: '/history/activity' }, { status: 500, times: 10 });
    h.timers.fire();
    await h.broker.drain();
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 2000, dealId, size: 1, level: 17985, cause: 'stop' },
    ]);
    expect(requests(h, 'GET', '/history/transactions').length).toBeGreaterThan(0);
  });

  it('IG still shows the position open: waits once more, then stops waiting for that hit', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    // the broker sees the stop reached; IG has not filled it (the fake never saw this price)
    h.broker.onTick({ time: h.t0 + 2000, market: EPIC, bid: 17990, ask: 17991 });
    expect(h.timers.fire()).toBe(1);
    await h.broker.drain();
    expect(h.timers.pending(), 're-armed once').toBe(1);
    expect(h.timers.fire()).toBe(1);
    await h.broker.drain();
    expect(h.timers.pending()).toBe(0);
    expect(requests(h, 'GET', `/positions/${dealId}`)).toHaveLength(2);
    expect(h.events.slice(1)).toEqual([]);
    expect(h.logs.some((l) => l.includes('no longer waiting'))).toBe(true);
  });

  it('a position seeded with track() is settled the same way', async () => {
    const h = await harness();
    const dealId = h.ig.openExternally({ epic: EPIC, direction: 'SELL', size: 2, level: 18000, stopLevel: 18010 });
    h.broker.track({ dealId, epic: EPIC, direction: 'SELL', size: 2, stopLevel: 18010, level: 18000, openedAt: h.t0 });
    h.tick(18012, 18013, h.t0 + 1000); // the SELL's stop at the ask
    expect(h.timers.fire()).toBe(1);
    await h.broker.drain();
    expect(h.events).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 2, level: 18013, cause: 'stop' },
    ]);
  });
});

describe('IgBroker: updates fed by hand (their timing relative to REST answers is then certain)', () => {
  it('a stop fill reported while our close is in flight is held back, then reported before the rejection', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(closeAction('A2', dealId, 1));
    h.tick(17985, 17986, h.t0 + 1000); // IG fills the stop before our close arrives
    h.broker.onTradeEvent(
      opu({
        dealId,
        status: 'DELETED',
        level: 17985,
        size: 0,
        time: h.t0 + 1000,
        stopLevel: 17990,
        channel: 'OSAutoStopFill',
      }),
    );
    expect(h.events.slice(1), 'held back while our close is in flight').toEqual([]);
    await h.broker.drain();
    expect(h.events.slice(1)).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 1, level: 17985, cause: 'stop' },
      { type: 'actionRejected', time: h.t0 + 1000, ref: 'A2', reason: 'POSITION_NOT_AVAILABLE_TO_CLOSE' },
    ]);
    expect(h.timers.pending(), 'no settle wait while our own close was in flight').toBe(0);
  });

  it('the echo of our close, arriving while it is in flight, is dropped once the close is confirmed', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    h.broker.submit(closeAction('A2', dealId, 1));
    h.broker.onTradeEvent(opu({ dealId, status: 'DELETED', level: 18000, size: 0, time: h.t0, stopLevel: 17990 }));
    await h.broker.drain();
    h.broker.onTradeEvent(opu({ dealId, status: 'DELETED', level: 18000, size: 0, time: h.t0, stopLevel: 17990 }));
    expect(countsFor(h.events, dealId)).toEqual({ positionOpened: 1, positionClosed: 1 });
    expect(ofType(h.events, 'positionClosed')[0]).toMatchObject({ ref: 'A2', cause: 'action', level: 18000 });
  });

  it('levels: a late echo of levels we set is dropped; levels set on the platform are reported without ref', async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1'); // stop 17990
    h.broker.submit(amendAction('A2', dealId, 17993));
    await h.broker.drain();
    const before = h.events.length;
    // a late update still showing the open's stop: ours, stale
    h.broker.onTradeEvent(opu({ dealId, status: 'UPDATED', level: 18001, size: 1, time: h.t0, stopLevel: 17990 }));
    expect(h.events.length).toBe(before);
    expect(h.broker.trackedPositions()[0]?.stopLevel).toBe(17993);
    // the amend's own update: what IG sends after it is newer than the amend
    h.broker.onTradeEvent(opu({ dealId, status: 'UPDATED', level: 18001, size: 1, time: h.t0, stopLevel: 17993 }));
    expect(h.events.length).toBe(before);
    // moved on IG's platform
    h.broker.onTradeEvent(
      opu({
        dealId,
        status: 'UPDATED',
        level: 18001,
        size: 1,
        time: h.t0,
        stopLevel: 17980,
        limitLevel: 18050,
        channel: 'WTP',
      }),
    );
    expect(h.events.slice(before)).toEqual([
      { type: 'positionAmended', time: h.t0, dealId, stopLevel: 17980, limitLevel: 18050 },
    ]);
    expect(h.broker.trackedPositions()[0]).toMatchObject({ stopLevel: 17980, limitLevel: 18050 });
  });

  it('an open whose outcome was unknown is reported with its ref once the stream shows it', async () => {
    const h = await harness();
    h.ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500 });
    h.broker.submit(openAction('A1'));
    await h.broker.drain();
    expect(h.events).toMatchObject([{ type: 'actionRejected', ref: 'A1' }]);
    h.broker.onTradeEvent(
      opu({
        dealId: 'DIAAAAX',
        dealReference: openReference('A1'),
        status: 'OPEN',
        level: 18001,
        size: 1,
        time: h.t0,
        stopLevel: 17990,
      }),
    );
    expect(h.events.slice(1)).toEqual([
      {
        type: 'positionOpened',
        time: h.t0,
        ref: 'A1',
        dealId: 'DIAAAAX',
        market: EPIC,
        direction: 'BUY',
        size: 1,
        level: 18001,
        stopLevel: 17990,
        limitLevel: undefined,
        strategy: 'scalper',
      },
    ]);
    // and only once
    h.broker.onTradeEvent(
      opu({
        dealId: 'DIAAAAX',
        dealReference: openReference('A1'),
        status: 'OPEN',
        level: 18001,
        size: 1,
        time: h.t0,
        stopLevel: 17990,
      }),
    );
    expect(h.events).toHaveLength(2);
  });
});

describe('findClose (history.ts) against the fake account history', () => {
  it("finds a position's closes by affectedDealId, full or by size, and falls back to transactions", async () => {
    const h = await harness();
    const dealId = await openThroughBroker(h, 'A1');
    const other = await openThroughBroker(h, 'A2');
    h.ig.closeExternally(dealId, 18004, 0.3);
    h.tick(18006, 18007, h.t0 + 1000);
    h.ig.closeExternally(dealId, 18006);
    h.ig.closeExternally(other, 17999);
    const window = { dealId, since: h.t0 - 5000, until: h.t0 + 5000 };
    expect(await findClose(h.rest, { ...window, prefer: { full: true } })).toEqual({
      level: 18006,
      time: h.t0 + 1000,
      size: 0.7,
      full: true,
      source: 'activity',
    });
    expect(await findClose(h.rest, { ...window, prefer: { size: 0.3 } })).toMatchObject({ level: 18004, full: false });
    expect(await findClose(h.rest, { ...window, dealId: 'DIAAAA999999999' })).toBeUndefined();
    // the activity is down: transactions, matched on the opening facts
    h.ig.failNext({ method: 'GET', path: '/history/activity' }, { status: 500, times: 10 });
    expect(
      await findClose(h.rest, { ...window, prefer: { size: 0.7 }, position: { openLevel: 18001, openedAt: h.t0 } }),
    ).toMatchObject({ level: 18006, size: 0.7, source: 'transactions' });
    h.ig.failNext({ method: 'GET', path: '/history/activity' }, { status: 500, times: 10 });
    await expect(findClose(h.rest, window), 'no opening facts: no guess, and the failure shows').rejects.toThrow();
  });
});

describe('IgBroker: changes made while the stream was down', () => {
  it('reconcileAfterGap reports a close at its history level, a partial close, and returns positions it does not follow', async () => {
    const h = await harness(); // no stream: every update IG sends is lost, as in a gap
    const gone = await openThroughBroker(h, 'A1');
    const shrunk = await openThroughBroker(h, 'A2');
    await quiet(h);
    const before = h.events.length;
    h.ig.closeExternally(gone, 17995);
    h.ig.closeExternally(shrunk, 18003, 0.4);
    const foreign = h.ig.openExternally({ epic: EPIC, direction: 'SELL', size: 2, level: 18000, stopLevel: 18020 });

    const unknown = h.broker.reconcileAfterGap(await h.rest.getPositions());
    await h.broker.drain();
    expect(unknown.map((p) => p.dealId)).toEqual([foreign]);
    const closes = ofType(h.events.slice(before), 'positionClosed');
    expect(closes).toHaveLength(2);
    expect(closes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dealId: gone, size: 1, level: 17995, cause: 'external' }),
        expect.objectContaining({ dealId: shrunk, size: 0.4, level: 18003, cause: 'external' }),
      ]),
    );
    // Reported once: a second comparison finds nothing new.
    h.broker.reconcileAfterGap(await h.rest.getPositions());
    await h.broker.drain();
    expect(ofType(h.events.slice(before), 'positionClosed')).toHaveLength(2);
  });

  it("a partial close in the gap is dated at IG's time from the history, not when the stream came back", async () => {
    const h = await harness(); // no stream: the update of the partial close is lost, as in a gap
    const dealId = await openThroughBroker(h, 'A1');
    h.tick(18004, 18005, h.t0 + 1000);
    h.ig.closeExternally(dealId, 18004, 0.4); // at IG's t0 + 1 s
    h.clock.set(h.t0 + 40_000); // the stream comes back 39 s later
    h.broker.reconcileAfterGap(await h.rest.getPositions());
    await h.broker.drain();
    expect(ofType(h.events, 'positionClosed')).toEqual([
      { type: 'positionClosed', time: h.t0 + 1000, dealId, size: 0.4, level: 18004, cause: 'external' },
    ]);
    expect(h.logs).toContain(`broker warn ${dealId}: 0.4 of it was closed while the stream was down, at 18004`);
  });
});
