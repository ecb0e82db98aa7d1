/**
 * IgStream (lightstreamer-client-node) against the fake IG Lightstreamer endpoint on 127.0.0.1.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tick } from '../../../../src/core/domain/types.js';
import { BrokerUnavailable, UserError } from '../../../../src/core/domain/errors.js';
import { positionUpdateToEvents } from '../../../../src/core/adapters/ig/mapper.js';
import { IgRestClient, type IgSession } from '../../../../src/core/adapters/ig/rest-client.js';
import { IgStream, type IgStreamOptions, type IgTradeEvent } from '../../../../src/core/adapters/ig/stream.js';
import { startFakeIg, type FakeIg } from '../../../support/fake-ig/index.js';

const EPIC = 'IX.D.DAX.DAILY.IP';
const DAX = { epic: EPIC, bid: 18000, ask: 18001, minStopDistance: 6, decimals: 1 };
const CHART = `CHART:${EPIC}:TICK`;

let ig: FakeIg;
let rest: IgRestClient;
let session: IgSession;
let stream: IgStream | undefined;
let ticks: Tick[];
let trades: IgTradeEvent[];
let statuses: string[];
let errors: Error[];

beforeEach(async () => {
  ig = await startFakeIg({ markets: [DAX] });
  rest = new IgRestClient({
    credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: ig.password },
    restUrl: ig.restUrl,
    settle: { confirmDelayMs: 5, lookupDelayMs: 5 },
  });
  session = await rest.login();
  ticks = [];
  trades = [];
  statuses = [];
  errors = [];
});

afterEach(async () => {
  stream?.disconnect();
  stream = undefined;
  await ig.close();
});

function openStream(over: Partial<IgStreamOptions> = {}): IgStream {
  stream = new IgStream({
    endpoint: session.lightstreamerEndpoint,
    accountId: session.accountId,
    tokens: { cst: session.cst, securityToken: session.securityToken },
    // the fake speaks WebSocket only; IG speaks both
    forcedTransport: 'WS-STREAMING',
    staleCheckIntervalMs: 0,
    reconnectDelayMs: 10,
    onTick: (t) => ticks.push({ ...t }),
    onTradeEvent: (e) => trades.push(e),
    onStatus: (s) => statuses.push(s),
    onError: (e) => errors.push(e),
    ...over,
  });
  stream.subscribeMarket(EPIC);
  stream.connect();
  return stream;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function subscribed(s: IgStream): Promise<void> {
  await waitFor('the stream to connect', () => s.connected);
  await waitFor(
    'both subscriptions on the server',
    () => ig.subscriptions().includes(CHART) && ig.subscriptions().includes(`TRADE:${session.accountId}`),
  );
}

describe('IgStream', () => {
  it('connects with the account id and CST/XST password, and receives ticks', async () => {
    const s = openStream();
    await subscribed(s);
    expect(statuses).toContain('CONNECTED:WS-STREAMING');
    const time = Date.now();
    ig.pushTick({ epic: EPIC, bid: 18002.5, ask: 18003.5, time });
    await waitFor('a tick', () => ticks.length === 1);
    expect(ticks[0]).toEqual({ time, market: EPIC, bid: 18002.5, ask: 18003.5 });
  });

  it('receives CONFIRMS and OPU of a deal, and the OPU maps to domain events', async () => {
    const s = openStream();
    await subscribed(s);
    const confirm = await rest.openPosition({
      epic: EPIC,
      direction: 'BUY',
      size: 1,
      stopLevel: 17990,
      dealReference: 'TG-stream-1',
    });
    await waitFor('CONFIRMS and OPU', () => trades.length >= 2);
    const streamed = trades.find((t) => t.kind === 'confirm');
    expect(streamed?.kind === 'confirm' && streamed.confirm).toMatchObject({
      dealReference: 'TG-stream-1',
      dealStatus: 'ACCEPTED',
      level: 18001,
      dealId: confirm.dealId,
    });
    const opu = trades.find((t) => t.kind === 'position');
    if (opu?.kind !== 'position') throw new Error('no OPU');
    expect(opu.update).toMatchObject({
      status: 'OPEN',
      dealId: confirm.dealId,
      dealReference: 'TG-stream-1',
      size: 1,
      level: 18001,
      stopLevel: 17990,
    });
    expect(positionUpdateToEvents(opu.update, { ownRef: 'open-1' })).toEqual([
      {
        type: 'positionOpened',
        time: opu.update.time,
        ref: 'open-1',
        dealId: confirm.dealId,
        market: EPIC,
        direction: 'BUY',
        size: 1,
        level: 18001,
        stopLevel: 17990,
      },
    ]);

    // a tick through the stop: IG fills it and reports DELETED with the fill level
    trades.length = 0;
    ig.pushTick({ epic: EPIC, bid: 17985, ask: 17986, time: Date.now() });
    await waitFor('the stop fill OPU', () =>
      trades.some((t) => t.kind === 'position' && t.update.status === 'DELETED'),
    );
    const fill = trades.find((t) => t.kind === 'position' && t.update.status === 'DELETED');
    if (fill?.kind !== 'position') throw new Error('no fill');
    expect(
      positionUpdateToEvents(fill.update, { previous: { direction: 'BUY', size: 1, stopLevel: 17990 } }),
    ).toMatchObject([{ type: 'positionClosed', dealId: confirm.dealId, size: 1, level: 17985, cause: 'stop' }]);
    expect(errors).toEqual([]);
  });

  it('after dropStreams it reconnects, resubscribes, and ticks flow again', async () => {
    const trade: boolean[] = [];
    const s = openStream({ onTradeSubscription: (live) => trade.push(live) });
    await subscribed(s);
    await waitFor('the TRADE subscription said live', () => trade.at(-1) === true);
    ig.pushTick({ epic: EPIC, bid: 18001, ask: 18002, time: Date.now() });
    await waitFor('the first tick', () => ticks.length === 1);

    ig.dropStreams();
    await waitFor('the server to lose the subscriptions', () => !ig.subscriptions().includes(CHART));
    // Deals then read GET /confirms until the TRADE subscription is live again (live's streamConfirmMs).
    await waitFor('the TRADE subscription said down', () => trade.includes(false));
    await subscribed(s);
    await waitFor('the TRADE subscription said live again', () => trade.at(-1) === true);
    ig.pushTick({ epic: EPIC, bid: 18004, ask: 18005, time: Date.now() });
    await waitFor('a tick after the reconnection', () => ticks.length === 2);
    expect(ticks[1]).toMatchObject({ bid: 18004, ask: 18005 });
  });

  it('tokens refused on reconnection: logs in again through relogin and resubscribes', async () => {
    let relogins = 0;
    const s = openStream({
      relogin: async () => {
        relogins += 1;
        const fresh = await rest.login();
        return { cst: fresh.cst, securityToken: fresh.securityToken };
      },
    });
    await subscribed(s);
    ig.expireTokens();
    ig.dropStreams();
    await waitFor('the server to lose the subscriptions', () => !ig.subscriptions().includes(CHART));
    await subscribed(s);
    expect(relogins).toBe(1);
    expect(errors.some((e) => e.message.includes('(1: '))).toBe(true);
    ig.pushTick({ epic: EPIC, bid: 18010, ask: 18011, time: Date.now() });
    await waitFor('a tick with the new session', () => ticks.length === 1);
  });

  it('reports a market stale once per silence, measured on the injected clock', async () => {
    let now = 1_000_000;
    const stale: [string, number][] = [];
    const s = openStream({
      clock: { now: () => now },
      staleAfterMs: 30_000,
      onStale: (due) => stale.push(...due.map((d): [string, number] => [d.epic, d.ageMs])),
    });
    await subscribed(s);
    now += 29_999;
    s.checkStale();
    expect(stale, 'not yet 30 s without a tick').toEqual([]);
    now += 1;
    s.checkStale();
    s.checkStale();
    expect(stale, 'reported once').toEqual([[EPIC, 30_000]]);

    ig.pushTick({ epic: EPIC, bid: 18001, ask: 18002, time: Date.now() });
    await waitFor('a tick', () => ticks.length === 1);
    now += 30_000;
    s.checkStale();
    expect(stale, 'a tick re-arms the check').toEqual([
      [EPIC, 30_000],
      [EPIC, 30_000],
    ]);
  });

  it('reports a market stale while the stream is down too, again each time its silence doubles, and says when prices come back', async () => {
    let now = 1_000_000;
    const stale: [string, number][] = [];
    const back: [string, number][] = [];
    ig.refuseStreamConnections(true); // IG's stream endpoint is down from the start
    const s = openStream({
      clock: { now: () => now },
      staleAfterMs: 30_000,
      staleRepeatMaxMs: 60_000,
      onStale: (due) => stale.push(...due.map((d): [string, number] => [d.epic, d.ageMs])),
      onPricesBack: (epic, silentMs) => back.push([epic, silentMs]),
    });
    now += 30_000;
    s.checkStale();
    expect(s.connected, 'the stream never connected').toBe(false);
    expect(stale, 'a stream that is down is the silence that matters most').toEqual([[EPIC, 30_000]]);
    for (const step of [29_999, 1, 60_000, 60_000]) {
      now += step;
      s.checkStale();
    }
    expect(stale, 'at 60 s (doubled), 120 s (doubled), 180 s (at most staleRepeatMaxMs later)').toEqual([
      [EPIC, 30_000],
      [EPIC, 60_000],
      [EPIC, 120_000],
      [EPIC, 180_000],
    ]);

    ig.refuseStreamConnections(false);
    await subscribed(s);
    ig.pushTick({ epic: EPIC, bid: 18001, ask: 18002, time: Date.now() });
    await waitFor('a tick', () => ticks.length === 1);
    expect(back, 'the end of the silence is reported').toEqual([[EPIC, 180_000]]);
    now += 29_999;
    s.checkStale();
    expect(stale, 'a tick starts a new silence').toHaveLength(4);
  });

  it('a refused subscription (unknown epic) is reported through onError, and asked for again', async () => {
    const s = openStream();
    await subscribed(s);
    s.subscribeMarket('XX.D.NOPE.IP');
    await waitFor('two refusals', () => errors.length >= 2);
    expect(errors[0]?.message).toContain('CHART:XX.D.NOPE.IP:TICK');
    expect(errors[1]?.message).toContain('CHART:XX.D.NOPE.IP:TICK');
  });

  it('a price subscription refused after a reconnection is asked for again until the server accepts it', async () => {
    const s = openStream();
    await subscribed(s);
    ig.refuseSubscriptions('CHART:', 3); // IG's price adapter fails for a moment
    ig.dropStreams();
    await waitFor('the server to lose the subscriptions', () => !ig.subscriptions().includes(CHART));
    await subscribed(s);
    expect(
      errors.filter((e) => e.message.includes(`refused ${CHART}`)),
      'three refusals before',
    ).toHaveLength(3);
    ig.pushTick({ epic: EPIC, bid: 18004, ask: 18005, time: Date.now() });
    await waitFor('a tick on the subscription asked for again', () => ticks.length === 1);
  });

  it('a refused TRADE subscription is asked for again', async () => {
    const trade: boolean[] = [];
    ig.refuseSubscriptions('TRADE:', 2);
    const s = openStream({ onTradeSubscription: (live) => trade.push(live) });
    await subscribed(s);
    await waitFor('the TRADE subscription said live', () => trade.at(-1) === true);
    expect(trade, 'down at each refusal, then live').toEqual([false, false, true]);
  });

  it('after a LOOP whose rebind finds the server gone (the client ends in plain DISCONNECTED), it connects again', async () => {
    let outage = false;
    const s = openStream({
      onStatus: (status) => {
        statuses.push(status);
        // The client has given up by itself: the server may come back now.
        if (outage && status === 'DISCONNECTED') ig.refuseStreamConnections(false);
      },
    });
    await subscribed(s);
    outage = true;
    ig.refuseStreamConnections(true);
    ig.loopStreams();
    await waitFor(
      'the client to give up',
      () => statuses.at(-1) === 'DISCONNECTED' || statuses.at(-2) === 'DISCONNECTED',
    );
    await subscribed(s);
    ig.pushTick({ epic: EPIC, bid: 18004, ask: 18005, time: Date.now() });
    await waitFor('a tick after the new connection', () => ticks.length === 1);
  });

  it('a re-login that keeps failing (IG login down) is tried again, with pauses doubling up to the cap, until it works', async () => {
    let relogins = 0;
    const delays: number[] = [];
    const s = openStream({
      reconnectDelayMs: 5,
      reconnectMaxDelayMs: 20,
      relogin: async () => {
        relogins += 1;
        if (relogins <= 7) throw new BrokerUnavailable('POST /session: IG reported an internal error (HTTP 503)');
        const fresh = await rest.login();
        return { cst: fresh.cst, securityToken: fresh.securityToken };
      },
      onReconnect: (attempt, delayMs) => delays.push(delayMs),
    });
    await subscribed(s);
    ig.expireTokens();
    ig.dropStreams();
    await waitFor('the server to lose the subscriptions', () => !ig.subscriptions().includes(CHART));
    await subscribed(s);
    expect(relogins, 'seven failed logins, more than the old limit of 5 reconnections, then one that works').toBe(8);
    expect(delays.slice(0, 8), 'doubling from 5 ms, at most 20 ms').toEqual([5, 10, 20, 20, 20, 20, 20, 20]);
    ig.pushTick({ epic: EPIC, bid: 18010, ask: 18011, time: Date.now() });
    await waitFor('a tick with the new session', () => ticks.length === 1);
  });

  it('a re-login IG refuses for good (credentials) ends the stream through onFatal', async () => {
    const fatal: UserError[] = [];
    let relogins = 0;
    const s = openStream({
      relogin: () => {
        relogins += 1;
        return Promise.reject(
          new UserError('POST /session: IG refused the identifier or password', 'Check IG_IDENTIFIER'),
        );
      },
      onFatal: (e) => fatal.push(e),
    });
    await subscribed(s);
    ig.expireTokens();
    ig.dropStreams();
    await waitFor('onFatal', () => fatal.length === 1);
    expect(fatal[0]?.message).toContain('refused the identifier or password');
    expect(relogins).toBe(1);
    expect(s.status).toBe('DISCONNECTED');
    expect(ig.subscriptions()).toEqual([]);
  });
});
