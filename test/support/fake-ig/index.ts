/**
 * A fake IG Markets server for tests: the REST gateway and a Lightstreamer (TLCP over WebSocket)
 * endpoint on one 127.0.0.1 port, speaking IG's wire formats so that trailguard's real IG adapter
 * (axios + lightstreamer-client-node) can be run against it.
 *
 * Connecting the real Lightstreamer client:
 *   const client = new LightstreamerClient(session.lightstreamerEndpoint); // adapter set: none or 'DEFAULT'
 *   client.connectionOptions.setForcedTransport('WS-STREAMING');          // the fake speaks WebSocket only
 *   client.connectionDetails.setUser(session.currentAccountId);
 *   client.connectionDetails.setPassword(`CST-${cst}|XST-${xst}`);
 * Items: CHART:{epic}:TICK (BID, OFR, UTM...), MARKET:{epic}, TRADE:{accountId} (CONFIRMS, OPU, WOU;
 * use DISTINCT mode and read only the changed field: unchanged fields keep their last value).
 *
 * Clock: broker times (confirm dates, OPU timestamps, history) are the latest pushed tick's time,
 * or the wall clock before the first tick, so tick-driven tests get deterministic times.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeIgBroker, type FakeIgDeal, type FakeIgMarket, type FakeIgPosition } from './broker.js';
import { LightstreamerFake } from './lightstreamer.js';
import { BASE_PATH, RestGateway, type FaultMatch, type FaultReply, type LoggedRequest } from './rest.js';

export type { FakeIgDeal, FakeIgMarket, FakeIgPosition } from './broker.js';
export type { FaultMatch, FaultReply, LoggedRequest } from './rest.js';

export interface FakeIgOptions {
  apiKey?: string;
  identifier?: string;
  password?: string;
  accountId?: string;
  /** Account currency [EUR]. */
  currency?: string;
  markets: FakeIgMarket[];
  /** Called with a copy of each REST request as it comes in (after it is logged, before it is answered). */
  onRequest?: (request: LoggedRequest) => void;
}

export interface FakeIg {
  /** e.g. http://127.0.0.1:PORT/gateway/deal */
  restUrl: string;
  /** http://127.0.0.1:PORT: the lightstreamerEndpoint that POST /session returns. */
  streamUrl: string;
  readonly apiKey: string;
  readonly identifier: string;
  readonly password: string;
  readonly accountId: string;
  /**
   * Pushes a price: updates the market, emits CHART:{epic}:TICK (and MARKET:{epic}) to
   * subscribers, then fills broker-side stops and limits (SPEC §3 step 1) with an OPU DELETED each
   * (with `fillFirst`, the fills go out before the tick). A `glitch` is only streamed: a bad price
   * in the feed (crossed, non-positive, late) that moves neither IG's prices nor its fills.
   */
  pushTick(
    t: { epic: string; bid: number; ask: number; time: number },
    options?: { fillFirst?: boolean; glitch?: boolean },
  ): void;
  /** Closes (fully or partly) a position as if done on IG's platform: emits an OPU (channel WTP). */
  closeExternally(dealId: string, level?: number, size?: number): void;
  /** Sets a position's stop and/or limit as if done on IG's platform (null removes one): emits an OPU UPDATED. */
  amendExternally(dealId: string, levels: { stopLevel?: number | null; limitLevel?: number | null }): void;
  /** Opens a position as if made on IG's platform (for adoption tests): emits an OPU OPEN. */
  openExternally(p: {
    epic: string;
    direction: 'BUY' | 'SELL';
    size: number;
    level?: number;
    stopLevel?: number;
    limitLevel?: number;
  }): string;
  /** Current open positions (copies). */
  positions(): FakeIgPosition[];
  /** Every open and close (full or partial, ours, broker-side or external) so far, oldest first. */
  deals(): FakeIgDeal[];
  /** Log of REST calls, oldest first (method is the effective one: `_method` wins). */
  requests(): LoggedRequest[];
  /** How many REST calls (of this method) came in: `requests().length` without copying the log. */
  requestCount(method?: string): number;
  /** The next matching request(s) fail with `reply` (see FaultReply). */
  failNext(match: FaultMatch, reply: FaultReply): void;
  /** Every session token issued so far becomes invalid: authenticated calls answer 401 error.security.client-token-invalid. */
  expireTokens(): void;
  /** Abruptly closes every Lightstreamer WebSocket; sessions are lost, clients must reconnect and resubscribe. */
  dropStreams(): void;
  /** While `on`, the stream endpoint is unreachable: new WebSocket and HTTP connections are cut off. */
  refuseStreamConnections(on: boolean): void;
  /** Sends LOOP to every stream session and closes it: clients must rebind (see refuseStreamConnections). */
  loopStreams(): void;
  /** The next `times` subscriptions of items starting with `prefix` (e.g. 'CHART:') answer REQERR `code` [68, an internal error]. */
  refuseSubscriptions(prefix: string, times: number, code?: number): void;
  /** Items currently subscribed, e.g. ['CHART:IX.D.DAX.DAILY.IP:TICK', 'TRADE:ABC123']. */
  subscriptions(): string[];
  /** IG changes a market's minimum stop distance (points), as it does around news. */
  setMinStopDistance(epic: string, points: number): void;
  close(): Promise<void>;
}

export const FAKE_IG_DEFAULTS = {
  apiKey: 'fake-api-key',
  identifier: 'fake-user',
  password: 'fake-password',
  accountId: 'ABC123',
  currency: 'EUR',
} as const;

export async function startFakeIg(options: FakeIgOptions): Promise<FakeIg> {
  const apiKey = options.apiKey ?? FAKE_IG_DEFAULTS.apiKey;
  const identifier = options.identifier ?? FAKE_IG_DEFAULTS.identifier;
  const password = options.password ?? FAKE_IG_DEFAULTS.password;
  const accountId = options.accountId ?? FAKE_IG_DEFAULTS.accountId;
  const currency = options.currency ?? FAKE_IG_DEFAULTS.currency;

  let streamUrl = '';
  // Broker, gateway and stream refer to each other through closures, called only once all exist.
  const stream = new LightstreamerFake({
    accountId,
    accepts: (user, pw) => rest.acceptsStreamLogin(user, pw),
    knownEpic: (epic) => broker.market(epic) !== undefined,
    market: (epic) => broker.market(epic),
  });
  const broker = new FakeIgBroker(
    { accountId, currency, markets: options.markets },
    {
      tick: (m, time) => stream.publishTick(m, time),
      trade: (field, json) => stream.publishTrade(field, json),
    },
  );
  const rest = new RestGateway(
    broker,
    { apiKey, identifier, password, accountId, currency },
    () => streamUrl,
    options.onRequest,
  );
  const ls = stream;

  const server: Server = createServer((req, res) => {
    if (ls.handleHttp(req, res)) return;
    rest.handle(req, res).catch((e: unknown) => {
      // A bug in the fake: answer as IG does on an internal error, and make it visible.
      console.error('fake IG: internal error', e);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ errorCode: 'system.error' }));
    });
  });
  server.on('upgrade', (req, socket, head) => ls.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  streamUrl = `http://127.0.0.1:${port}`;

  return {
    restUrl: `${streamUrl}${BASE_PATH}`,
    streamUrl,
    apiKey,
    identifier,
    password,
    accountId,
    pushTick: (t, options) => broker.pushTick(t, options),
    closeExternally: (dealId, level, size) => broker.closeExternally(dealId, level, size),
    amendExternally: (dealId, levels) => broker.amendExternally(dealId, levels),
    openExternally: (p) => broker.openExternally(p),
    positions: () => broker.positions(),
    deals: () => broker.deals(),
    requests: () => rest.requests(),
    requestCount: (method) => rest.requestCount(method),
    failNext: (match, reply) => rest.failNext(match, reply),
    expireTokens: () => rest.expireTokens(),
    dropStreams: () => ls.dropAll(),
    refuseStreamConnections: (on) => ls.refuseConnections(on),
    loopStreams: () => ls.loopAll(),
    refuseSubscriptions: (prefix, times, code) => ls.refuseSubscriptions(prefix, times, code),
    setMinStopDistance: (epic, points) => {
      const m = broker.market(epic);
      if (m === undefined) throw new Error(`fake IG: no market ${epic}`);
      m.minStopDistance = points;
    },
    subscriptions: () => ls.subscriptions(),
    close: async () => {
      await ls.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
