/**
 * IgRestClient against the fake IG server on 127.0.0.1 (test/support/fake-ig). Nothing here
 * reaches the internet.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerRejected, BrokerUnavailable, UserError } from '../../../../src/core/domain/errors.js';
import { DEAL_OUTCOME_UNKNOWN } from '../../../../src/core/adapters/ig/errors.js';
import {
  IgDealRefused,
  IgDealRejected,
  IgRestClient,
  type IgRestClientOptions,
} from '../../../../src/core/adapters/ig/rest-client.js';
import { startFakeIg, type FakeIg } from '../../../support/fake-ig/index.js';

const EPIC = 'IX.D.DAX.DAILY.IP';
const DAX = { epic: EPIC, bid: 18000, ask: 18001, minStopDistance: 6, decimals: 1 };

let ig: FakeIg;
const logs: string[] = [];

beforeEach(async () => {
  ig = await startFakeIg({ markets: [DAX] });
  logs.length = 0;
});
afterEach(async () => {
  await ig.close();
});

function client(over: Partial<IgRestClientOptions> = {}): IgRestClient {
  return new IgRestClient({
    credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: ig.password },
    restUrl: ig.restUrl,
    timeoutMs: 2000,
    retry: { tries: 3, baseDelayMs: 5, maxDelayMs: 50 },
    settle: { confirmTries: 3, confirmDelayMs: 5, lookupTries: 2, lookupDelayMs: 5 },
    log: (level, message) => logs.push(`${level} ${message}`),
    ...over,
  });
}

/** Requests of one method and path, as the fake logged them. */
function requests(method: string, path: string) {
  return ig.requests().filter((r) => r.method === method && r.path === path);
}

async function caught(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('login', () => {
  it('logs in with v2 and keeps the tokens and the stream endpoint', async () => {
    const c = client();
    const session = await c.login();
    expect(session.accountId).toBe(ig.accountId);
    expect(session.lightstreamerEndpoint).toBe(ig.streamUrl);
    expect(session.cst).not.toBe('');
    const [login] = requests('POST', '/session');
    expect(login?.headers['version']).toBe('2');
    expect(login?.headers['x-ig-api-key']).toBe(ig.apiKey);
    expect(login?.body).toMatchObject({ identifier: ig.identifier, password: ig.password });
  });

  it('bad credentials are a UserError that says what to do, and are not retried', async () => {
    const c = new IgRestClient({
      credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: 'wrong-password' },
      restUrl: ig.restUrl,
    });
    const err = await caught(c.login());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('error.security.invalid-details');
    expect((err as UserError).hint).toMatch(/IG_IDENTIFIER/);
    expect(requests('POST', '/session')).toHaveLength(1);
  });

  it('a bad API key is a UserError too', async () => {
    const c = new IgRestClient({
      credentials: { apiKey: 'not-the-key', identifier: ig.identifier, password: ig.password },
      restUrl: ig.restUrl,
    });
    const err = await caught(c.login());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('error.security.api-key-invalid');
  });
});

describe('reads', () => {
  it('reads the market rules: decimals, minimum distance, currency, expiry', async () => {
    const rules = await client().getMarket(EPIC);
    expect(rules).toMatchObject({
      market: EPIC,
      decimals: 1,
      minStopDistanceRule: { unit: 'POINTS', value: 6 },
      currency: 'EUR',
      expiry: '-',
      bid: 18000,
      ask: 18001,
    });
    expect(requests('GET', `/markets/${EPIC}`)[0]?.headers['version']).toBe('3');
  });

  it('an unknown deal is undefined, for a position and for a confirm', async () => {
    const c = client();
    expect(await c.getPosition('DIAAAANOPE')).toBeUndefined();
    expect(await c.getConfirm('NOPE-REF')).toBeUndefined();
  });

  it('a 500 on a read is retried, then the read succeeds', async () => {
    const c = client();
    await c.login();
    ig.failNext({ method: 'GET', path: '/positions' }, { status: 500, times: 2 });
    expect(await c.getPositions()).toEqual([]);
    expect(requests('GET', '/positions'), 'two failures then the success').toHaveLength(3);
  });

  it('a read that keeps failing gives up after `tries` with BrokerUnavailable', async () => {
    const c = client();
    await c.login();
    ig.failNext({ method: 'GET', path: '/positions' }, { status: 503, times: 10 });
    const err = await caught(c.getPositions());
    expect(err).toBeInstanceOf(BrokerUnavailable);
    expect(requests('GET', '/positions')).toHaveLength(3);
  });

  it('a rate-limit answer is waited out (bounded) and the read retried', async () => {
    const c = client();
    await c.login();
    ig.failNext(
      { method: 'GET', path: '/positions' },
      { status: 403, body: { errorCode: 'error.public-api.exceeded-account-allowance' } },
    );
    const started = Date.now();
    expect(await c.getPositions()).toEqual([]);
    expect(requests('GET', '/positions')).toHaveLength(2);
    expect(Date.now() - started, 'waited, but no longer than maxDelayMs').toBeGreaterThanOrEqual(45);
  });

  it('an expired session: one new login, the request is replayed and succeeds', async () => {
    const c = client();
    await c.login();
    ig.expireTokens();
    expect(await c.getPositions()).toEqual([]);
    expect(requests('POST', '/session')).toHaveLength(2);
    expect(requests('GET', '/positions')).toHaveLength(2);
  });

  it('a session refused again right after the new login is not looped on', async () => {
    const c = client();
    await c.login();
    ig.failNext(
      { method: 'GET', path: '/positions' },
      { status: 401, body: { errorCode: 'error.security.client-token-invalid' }, times: 10 },
    );
    const err = await caught(c.getPositions());
    expect(err).toBeInstanceOf(BrokerUnavailable);
    expect(requests('POST', '/session'), 'the first login and exactly one more').toHaveLength(2);
    expect(requests('GET', '/positions')).toHaveLength(2);
  });

  it('history: transactions and activity of a closed deal', async () => {
    const c = client();
    const from = Date.now() - 60_000;
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1 });
    await c.closePosition({ dealId: opened.dealId ?? '', direction: 'BUY', size: 1 });
    const to = Date.now() + 60_000;
    const transactions = await c.getTransactions({ from, to });
    expect(transactions).toHaveLength(1);
    expect(transactions[0]).toMatchObject({ type: 'DEAL', openLevel: 18001, closeLevel: 18000, size: 1 });
    const activity = await c.getActivity({ from, to });
    expect(activity.map((a) => a.actions[0]?.actionType).sort()).toEqual(['POSITION_CLOSED', 'POSITION_OPENED']);
  });
});

describe('deals', () => {
  it('opens a position with our own dealReference and returns the confirm', async () => {
    const c = client();
    const confirm = await c.openPosition({
      epic: EPIC,
      direction: 'BUY',
      size: 1,
      stopLevel: 17990,
      limitLevel: 18040,
      dealReference: 'TG-open-1',
    });
    expect(confirm).toMatchObject({
      dealStatus: 'ACCEPTED',
      dealReference: 'TG-open-1',
      level: 18001,
      size: 1,
      stopLevel: 17990,
      limitLevel: 18040,
      settledBy: 'confirm',
    });
    const [post] = requests('POST', '/positions/otc');
    expect(post?.body).toMatchObject({
      epic: EPIC,
      direction: 'BUY',
      size: 1,
      orderType: 'MARKET',
      forceOpen: true,
      guaranteedStop: false,
      expiry: '-',
      currencyCode: 'EUR',
      dealReference: 'TG-open-1',
    });
    expect(post?.headers['version']).toBe('2');
    const [position] = await c.getPositions();
    expect(position).toMatchObject({
      dealId: confirm.dealId,
      dealReference: 'TG-open-1',
      market: EPIC,
      direction: 'BUY',
      size: 1,
      level: 18001,
      stopLevel: 17990,
      limitLevel: 18040,
    });
  });

  it('a REJECTED open (stop inside the minimum distance) is BrokerRejected with IG reason', async () => {
    const err = await caught(client().openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17999 }));
    expect(err).toBeInstanceOf(IgDealRejected);
    expect(err).toBeInstanceOf(BrokerRejected);
    expect((err as IgDealRejected).code).toBe('ATTACHED_ORDER_LEVEL_ERROR');
    expect(err.message).toContain('ATTACHED_ORDER_LEVEL_ERROR');
    expect(ig.positions()).toHaveLength(0);
  });

  it('amends both levels; a stop too close is BrokerRejected and leaves the position as it was', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17980, limitLevel: 18040 });
    const dealId = opened.dealId ?? '';
    const ok = await c.amendPosition(dealId, { stopLevel: 17985, limitLevel: 18040 });
    expect(ok).toMatchObject({
      status: 'sent',
      result: { dealStatus: 'ACCEPTED', stopLevel: 17985, limitLevel: 18040 },
    });
    const err = await caught(c.amendPosition(dealId, { stopLevel: 17998, limitLevel: 18040 }));
    expect(err).toBeInstanceOf(BrokerRejected);
    expect((err as BrokerRejected).code).toBe('ATTACHED_ORDER_LEVEL_ERROR');
    expect(ig.positions()[0]?.stopLevel).toBe(17985);
    expect(requests('PUT', `/positions/otc/${dealId}`)[0]?.body).toEqual({
      stopLevel: 17985,
      limitLevel: 18040,
      guaranteedStop: false,
      trailingStop: false,
    });
  });

  it('amends queued behind one in flight are coalesced: only the latest level is sent', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17980 });
    const dealId = opened.dealId ?? '';
    const first = c.amendPosition(dealId, { stopLevel: 17981 });
    while (requests('PUT', `/positions/otc/${dealId}`).length === 0) await new Promise((r) => setTimeout(r, 5));
    const outcomes = await Promise.all([
      first,
      ...[17982, 17983].map((stopLevel) => c.amendPosition(dealId, { stopLevel })),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['sent', 'superseded', 'sent']);
    const puts = requests('PUT', `/positions/otc/${dealId}`).map((r) => (r.body as { stopLevel: number }).stopLevel);
    expect(puts, '17982 never reaches IG').toEqual([17981, 17983]);
    expect(ig.positions()[0]?.stopLevel).toBe(17983);
  });

  it('amends submitted before any could take its trading slot: only the latest level leaves the process', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17980 });
    const dealId = opened.dealId ?? '';
    const outcomes = await Promise.all(
      [17981, 17982, 17983].map((stopLevel) => c.amendPosition(dealId, { stopLevel })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['superseded', 'superseded', 'sent']);
    const puts = requests('PUT', `/positions/otc/${dealId}`).map((r) => (r.body as { stopLevel: number }).stopLevel);
    expect(puts, 'stale levels are never sent').toEqual([17983]);
  });

  it('an amend whose answer is lost and whose position cannot be read says so, not that IG ignored it', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17980 });
    const dealId = opened.dealId ?? '';
    ig.failNext({ method: 'PUT', path: `/positions/otc/${dealId}` }, { status: 503 });
    ig.failNext({ method: 'GET', path: `/positions/${dealId}` }, { status: 503, times: 100 });
    const err = await caught(c.amendPosition(dealId, { stopLevel: 17981 }));
    expect(err).toBeInstanceOf(BrokerUnavailable);
    expect((err as Error).message).toMatch(/outcome unknown — its state could not be read/);
    expect((err as Error).message).not.toMatch(/does not show the requested levels/);
  });

  it('closes all or part of a position with one opposite-direction deal', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 2 });
    const dealId = opened.dealId ?? '';
    const part = await c.closePosition({ dealId, direction: 'BUY', size: 0.5 });
    expect(part).toMatchObject({ dealStatus: 'ACCEPTED', status: 'PARTIALLY_CLOSED', level: 18000, size: 0.5 });
    expect(ig.positions()[0]?.size).toBe(1.5);
    const rest = await c.closePosition({ dealId, direction: 'BUY', size: 1.5 });
    expect(rest).toMatchObject({ status: 'CLOSED', level: 18000, size: 1.5 });
    expect(ig.positions()).toHaveLength(0);
    const closes = requests('DELETE', '/positions/otc');
    expect(closes).toHaveLength(2);
    expect(closes[0]?.body).toEqual({ dealId, direction: 'SELL', size: 0.5, orderType: 'MARKET' });
    expect(closes[0]?.headers['_method'], 'sent as POST with the _method tunnel').toBe('DELETE');
  });

  it('a 500 after IG executed the open: reconciled through /confirms, the open is sent exactly ONCE', async () => {
    const c = client();
    await c.login();
    ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500, afterExecute: true });
    const confirm = await c.openPosition({ epic: EPIC, direction: 'SELL', size: 1, dealReference: 'TG-unknown-1' });
    expect(confirm).toMatchObject({
      dealStatus: 'ACCEPTED',
      dealReference: 'TG-unknown-1',
      level: 18000,
      settledBy: 'confirm',
    });
    expect(requests('POST', '/positions/otc'), 'never re-sent').toHaveLength(1);
    expect(ig.positions()).toHaveLength(1);
    expect(logs.some((l) => l.includes('outcome unknown'))).toBe(true);
  });

  it('a connection reset after IG executed the open: reconciled, sent once', async () => {
    const c = client();
    await c.login();
    ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 0, afterExecute: true });
    const confirm = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, dealReference: 'TG-reset-1' });
    expect(confirm.dealStatus).toBe('ACCEPTED');
    expect(requests('POST', '/positions/otc')).toHaveLength(1);
  });

  it('a 500 before execution: no confirm, no position → outcome unknown, still never re-sent', async () => {
    const c = client();
    await c.login();
    ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500 });
    const err = await caught(c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, dealReference: 'TG-lost-1' }));
    expect(err).toBeInstanceOf(BrokerUnavailable);
    expect((err as BrokerUnavailable).code).toBe(DEAL_OUTCOME_UNKNOWN);
    expect(err.message).toContain('NOT re-sent');
    expect(requests('POST', '/positions/otc')).toHaveLength(1);
    expect(ig.positions()).toHaveLength(0);
  });

  it('a connection reset after IG executed a close: settled from the activity history, sent once', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1 });
    ig.failNext({ method: 'DELETE', path: '/positions/otc' }, { status: 0, afterExecute: true });
    const confirm = await c.closePosition({ dealId: opened.dealId ?? '', direction: 'BUY', size: 1 });
    expect(confirm).toMatchObject({
      dealStatus: 'ACCEPTED',
      status: 'CLOSED',
      level: 18000,
      size: 1,
      settledBy: 'activity',
    });
    expect(requests('DELETE', '/positions/otc')).toHaveLength(1);
  });

  it('a 500 after an amend took effect: settled from the position, sent once', async () => {
    const c = client();
    const opened = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17980 });
    const dealId = opened.dealId ?? '';
    ig.failNext({ method: 'PUT', path: `/positions/otc/${dealId}` }, { status: 502, afterExecute: true });
    const outcome = await c.amendPosition(dealId, { stopLevel: 17990 });
    expect(outcome).toMatchObject({
      status: 'sent',
      result: { dealStatus: 'ACCEPTED', stopLevel: 17990, settledBy: 'positions' },
    });
    expect(requests('PUT', `/positions/otc/${dealId}`)).toHaveLength(1);
  });

  it('a deal refused for the trading allowance is a refusal, not settled (IG did not execute it), and deals pause', async () => {
    const c = client();
    await c.login();
    ig.failNext(
      { method: 'POST', path: '/positions/otc' },
      { status: 403, body: { errorCode: 'error.public-api.exceeded-account-trading-allowance' } },
    );
    const err = await caught(c.openPosition({ epic: EPIC, direction: 'BUY', size: 1 }));
    expect(err).toBeInstanceOf(IgDealRefused);
    expect((err as IgDealRefused).code).toBe('error.public-api.exceeded-account-trading-allowance');
    expect((err as IgDealRefused).explanation).toMatch(/^IG refused it, nothing was executed: .*no deal for 1 s/);
    expect(requests('POST', '/positions/otc')).toHaveLength(1);
    expect(
      ig.requests().filter((r) => r.path.startsWith('/confirms/')),
      'nothing to settle',
    ).toHaveLength(0);
  });

  it('an expired session on a deal: one new login and one replay (the 401 proves it was not executed)', async () => {
    const c = client();
    await c.getMarket(EPIC); // the open's currency and expiry come from here: no read before the deal
    ig.expireTokens();
    const confirm = await c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, dealReference: 'TG-relogin-1' });
    expect(confirm.dealStatus).toBe('ACCEPTED');
    expect(requests('POST', '/session')).toHaveLength(2);
    expect(requests('POST', '/positions/otc'), 'the refused one and the replay').toHaveLength(2);
    expect(ig.positions()).toHaveLength(1);
  });
});

describe('secrets never leak', () => {
  /** A server that accepts connections and never answers: the client times out. */
  async function silentServer(): Promise<{ url: string; server: Server }> {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway/deal`, server };
  }

  it('in errors (message, stack, JSON, inspect) and logs, whatever fails', async () => {
    const c = client();
    const session = await c.login();
    const secrets = [ig.apiKey, ig.password, ig.identifier, session.cst, session.securityToken];

    const errors: unknown[] = [];
    const collect = async (work: Promise<unknown>) => {
      try {
        await work;
      } catch (err) {
        errors.push(err);
      }
    };

    // bad credentials
    await collect(
      new IgRestClient({
        credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: `${ig.password}-x` },
        restUrl: ig.restUrl,
        log: (l, m) => logs.push(m),
      }).login(),
    );
    // HTTP errors on reads and deals
    ig.failNext({ method: 'GET', path: '/positions' }, { status: 500, times: 5 });
    await collect(c.getPositions());
    await collect(c.openPosition({ epic: EPIC, direction: 'BUY', size: 1, stopLevel: 17999 }));
    ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500 });
    await collect(c.openPosition({ epic: EPIC, direction: 'BUY', size: 1 }));
    ig.failNext(
      { method: 'GET', path: '/positions' },
      { status: 401, body: { errorCode: 'error.security.client-token-invalid' }, times: 5 },
    );
    await collect(c.getPositions());
    // nothing listening
    const closed = await silentServer();
    const deadUrl = closed.url;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    await collect(
      new IgRestClient({
        credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: ig.password },
        restUrl: deadUrl,
        retry: { tries: 1 },
        log: (l, m) => logs.push(m),
      }).login(),
    );
    // a server that never answers (timeout), on a request that carries the tokens
    const silent = await silentServer();
    try {
      const slow = new IgRestClient({
        credentials: { apiKey: ig.apiKey, identifier: ig.identifier, password: ig.password },
        restUrl: silent.url,
        timeoutMs: 100,
        retry: { tries: 1 },
        log: (l, m) => logs.push(m),
      });
      await collect(slow.login());
    } finally {
      silent.server.closeAllConnections();
      await new Promise<void>((resolve) => silent.server.close(() => resolve()));
    }

    expect(errors.length).toBe(7);
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'UserError',
      'BrokerUnavailable',
      'BrokerRejected',
      'BrokerUnavailable',
      'BrokerUnavailable',
      'BrokerUnavailable',
      'BrokerUnavailable',
    ]);
    for (const err of errors) {
      const e = err as Error;
      const views = [String(e), e.stack ?? '', JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })];
      for (const view of views) {
        for (const secret of secrets)
          expect(view.includes(secret), `${e.name}: ${e.message} shows a secret`).toBe(false);
      }
    }
    for (const line of logs)
      for (const secret of secrets) expect(line.includes(secret), `log line shows a secret: ${line}`).toBe(false);
  });
});
