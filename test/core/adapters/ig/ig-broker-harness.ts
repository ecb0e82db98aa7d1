/**
 * IgBroker wired to the fake IG server as the live service wires it: a real IgRestClient, and
 * (optionally) a real IgStream whose ticks go to `broker.onTick` and whose trade events go to
 * `broker.onTradeEvent`. Events are collected from the broker's handler.
 */
import type { MarketConfig } from '../../../../src/core/domain/config.js';
import type { AmendStopAction, CloseAction, OpenAction } from '../../../../src/core/domain/events.js';
import type { Tick } from '../../../../src/core/domain/types.js';
import type { BrokerEvent } from '../../../../src/core/ports/broker.js';
import { IgBroker, type IgBrokerOptions, type SetTimer } from '../../../../src/core/adapters/ig/ig-broker.js';
import { RateLimiter } from '../../../../src/core/adapters/ig/limiter.js';
import { ownOpenReference, strategyTag } from '../../../../src/core/adapters/ig/mapper.js';
import { IgRestClient } from '../../../../src/core/adapters/ig/rest-client.js';
import { IgStream, type IgTradeEvent } from '../../../../src/core/adapters/ig/stream.js';
import { startFakeIg, type FakeIg, type FakeIgOptions } from '../../../support/fake-ig/index.js';

export const EPIC = 'IX.D.DAX.DAILY.IP';
export const RUN_ID = 'run7';

export const DAX_CONFIG: MarketConfig = {
  market: EPIC,
  pointSize: 1,
  decimals: 1,
  valuePerPoint: 1,
  lotStep: 0.1,
  minStopDistance: 6,
  stopStep: 0,
  strategy: 'default',
  entry: { kind: 'none' },
  exits: {},
};

/** Timers the test fires by hand (the 10 s settle wait). */
export class ManualTimers {
  readonly armed: { fn: () => void; ms: number; cancelled: boolean; fired: boolean }[] = [];

  readonly set: SetTimer = (fn, ms) => {
    const timer = { fn, ms, cancelled: false, fired: false };
    this.armed.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  };

  /** Timers neither cancelled nor fired. */
  pending(): number {
    return this.armed.filter((t) => !t.cancelled && !t.fired).length;
  }

  /** Fires every pending timer once (timers armed meanwhile wait for the next call). */
  fire(): number {
    const due = this.armed.filter((t) => !t.cancelled && !t.fired);
    for (const t of due) {
      t.fired = true;
      t.fn();
    }
    return due.length;
  }
}

export interface Harness {
  ig: FakeIg;
  rest: IgRestClient;
  broker: IgBroker;
  stream: IgStream | undefined;
  events: BrokerEvent[];
  trades: IgTradeEvent[];
  logs: string[];
  timers: ManualTimers;
  /** The broker's clock (tests may move it). */
  clock: { now: () => number; set(ms: number): void };
  /** A whole second of wall-clock time: the first tick's time, so the fake's clock is pinned. */
  t0: number;
  /** Pushes a tick to the fake (and, without a stream, to the broker directly). */
  tick(bid: number, ask: number, atMs: number): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  stream?: boolean;
  /** The fake's request hook: called as each REST request comes in, before it is answered. */
  onRequest?: FakeIgOptions['onRequest'];
  broker?: Partial<IgBrokerOptions>;
  /** The client's limiter [one with no practical limit]. */
  limiter?: RateLimiter;
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A limiter clock whose sleeps end only when the test moves it past them: waits are not lived. */
export function heldTime() {
  let now = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    sleeping: () => sleepers.length,
    advance: (ms: number) => {
      now += ms;
      for (const s of sleepers.splice(0)) {
        if (s.until <= now) s.wake();
        else sleepers.push(s);
      }
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  const ig = await startFakeIg({
    markets: [{ epic: EPIC, bid: 18000, ask: 18001, minStopDistance: 6, decimals: 1 }],
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
  });
  const logs: string[] = [];
  const rest = new IgRestClient({
    credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: ig.password },
    restUrl: ig.restUrl,
    timeoutMs: 3000,
    retry: { tries: 2, baseDelayMs: 5, maxDelayMs: 20 },
    settle: { confirmTries: 3, confirmDelayMs: 5, lookupTries: 2, lookupDelayMs: 5 },
    // the fake has no allowances; IG's defaults would pace a test to minutes
    limiter:
      options.limiter ??
      new RateLimiter({
        accountTrading: { max: 10_000, windowMs: 60_000 },
        accountNonTrading: { max: 10_000, windowMs: 60_000 },
        appNonTrading: { max: 10_000, windowMs: 60_000 },
      }),
    log: (level, message) => logs.push(`rest ${level} ${message}`),
  });
  const session = await rest.login();
  let now: number | undefined;
  const clock = {
    now: () => now ?? Date.now(),
    set: (ms: number) => {
      now = ms;
    },
  };
  const timers = new ManualTimers();
  const broker = new IgBroker({
    rest,
    markets: [DAX_CONFIG],
    clock,
    runId: RUN_ID,
    setTimer: timers.set,
    log: (level, message) => logs.push(`broker ${level} ${message}`),
    ...options.broker,
  });
  const events: BrokerEvent[] = [];
  broker.setEventHandler((e) => events.push(e));
  const trades: IgTradeEvent[] = [];

  let stream: IgStream | undefined;
  if (options.stream === true) {
    stream = new IgStream({
      endpoint: session.lightstreamerEndpoint,
      accountId: session.accountId,
      tokens: { cst: session.cst, securityToken: session.securityToken },
      forcedTransport: 'WS-STREAMING', // the fake speaks WebSocket only
      staleCheckIntervalMs: 0,
      reconnectDelayMs: 10,
      onTick: (t: Tick) => broker.onTick(t),
      onTradeEvent: (e) => {
        trades.push(e);
        broker.onTradeEvent(e);
      },
      onError: (e) => logs.push(`stream error ${e.message}`),
    });
    stream.subscribeMarket(EPIC);
    stream.connect();
    const s = stream;
    await waitFor('the stream to connect', () => s.connected);
    await waitFor(
      'the subscriptions on the server',
      () =>
        ig.subscriptions().includes(`CHART:${EPIC}:TICK`) && ig.subscriptions().includes(`TRADE:${session.accountId}`),
    );
  }

  const h: Harness = {
    ig,
    rest,
    broker,
    stream,
    events,
    trades,
    logs,
    timers,
    clock,
    t0,
    tick: (bid, ask, atMs) => {
      ig.pushTick({ epic: EPIC, bid, ask, time: atMs });
      if (stream === undefined) broker.onTick({ time: atMs, market: EPIC, bid, ask });
    },
    close: async () => {
      broker.dispose();
      stream?.disconnect();
      await ig.close();
    },
  };
  // pins the fake's clock: confirms, updates and history carry tick times from here on
  h.tick(18000, 18001, t0);
  return h;
}

/** The deal reference the broker sends for openAction(ref): trailguard's mark, then RUN_ID-ref. */
export function openReference(ref: string): string {
  return ownOpenReference(`${RUN_ID}-${ref}`, {
    virtual: false,
    atrStop: false,
    strategyTag: strategyTag('scalper'),
  }) as string;
}

export function openAction(ref: string, over: Partial<OpenAction> = {}): OpenAction {
  return {
    type: 'open',
    ref,
    market: EPIC,
    direction: 'BUY',
    size: 1,
    expectedLevel: 18001,
    stopLevel: 17990,
    limitLevel: undefined,
    strategy: 'scalper',
    reason: 'SIGNAL',
    virtual: false,
    stopReason: 'STOP',
    ...over,
  };
}

export function amendAction(
  ref: string,
  dealId: string,
  stopLevel: number,
  over: Partial<AmendStopAction> = {},
): AmendStopAction {
  return {
    type: 'amendStop',
    ref,
    dealId,
    market: EPIC,
    stopLevel,
    limitLevel: undefined,
    reason: 'TRAILING_STOP',
    ...over,
  };
}

export function closeAction(ref: string, dealId: string, size: number, over: Partial<CloseAction> = {}): CloseAction {
  return { type: 'close', ref, dealId, market: EPIC, direction: 'BUY', size, reason: 'VIRTUAL_STOP', ...over };
}

/** Events about one deal, by type. */
export function countsFor(events: readonly BrokerEvent[], dealId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    if ('dealId' in e && e.dealId === dealId) out[e.type] = (out[e.type] ?? 0) + 1;
  }
  return out;
}

/** Opens a position through the broker and returns its deal id. */
export async function openThroughBroker(h: Harness, ref: string, over: Partial<OpenAction> = {}): Promise<string> {
  h.broker.submit(openAction(ref, over));
  await h.broker.drain();
  const opened = h.events.find((e) => e.type === 'positionOpened' && e.ref === ref);
  if (opened?.type !== 'positionOpened') throw new Error(`open ${ref} gave ${JSON.stringify(h.events)}`);
  return opened.dealId;
}

/** Lets in-flight work and stream traffic settle, so that a duplicate would have shown up. */
export async function quiet(h: Harness, ms = 150): Promise<void> {
  await h.broker.drain();
  await sleep(ms);
  await h.broker.drain();
}

/** Stream position updates of a deal seen so far. */
export function updatesOf(h: Harness, dealId: string): string[] {
  return h.trades.flatMap((t) => (t.kind === 'position' && t.update.dealId === dealId ? [t.update.status] : []));
}
