/**
 * Smoke tests of the fake IG server: REST through axios, streaming through the real
 * lightstreamer-client-node. Everything runs on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { type ItemUpdate, LightstreamerClient, Subscription } from 'lightstreamer-client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeIg, startFakeIg } from './index.js';
import { endpointVersion } from './rest.js';

const DAX = 'IX.D.DAX.DAILY.IP';
const EURUSD = 'CS.D.EURUSD.MINI.IP';
const T0 = Date.UTC(2024, 2, 5, 9, 0, 0);

const servers: FakeIg[] = [];
const clients: LightstreamerClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

async function fake(): Promise<FakeIg> {
  const ig = await startFakeIg({
    markets: [
      { epic: DAX, bid: 18000, ask: 18001, minStopDistance: 6, decimals: 1, instrumentName: 'Germany 40' },
      { epic: EURUSD, bid: 1.1, ask: 1.1001, minStopDistance: 2, decimals: 5, pointSize: 0.0001 },
    ],
  });
  servers.push(ig);
  return ig;
}

interface Session {
  http: AxiosInstance;
  cst: string;
  xst: string;
  body: Record<string, unknown>;
}

function api(ig: FakeIg, apiKey = ig.apiKey): AxiosInstance {
  return documentedVersions(
    axios.create({ baseURL: ig.restUrl, headers: { 'X-IG-API-KEY': apiKey }, validateStatus: () => true }),
  );
}

/** Requests without a VERSION header get the endpoint's documented one (the fake checks it). */
function documentedVersions(http: AxiosInstance): AxiosInstance {
  http.interceptors.request.use((config) => {
    if (config.headers.get('Version') === undefined) {
      const method = String(config.headers.get('_method') ?? config.method ?? 'get').toUpperCase();
      config.headers.set('Version', endpointVersion(method, config.url ?? '') ?? '1');
    }
    return config;
  });
  return http;
}

async function login(ig: FakeIg): Promise<Session> {
  const res = await api(ig).post(
    '/session',
    { identifier: ig.identifier, password: ig.password },
    { headers: { Version: '2' } },
  );
  expect(res.status, 'login must succeed').toBe(200);
  const cst = String(res.headers['cst']);
  const xst = String(res.headers['x-security-token']);
  const http = documentedVersions(
    axios.create({
      baseURL: ig.restUrl,
      headers: { 'X-IG-API-KEY': ig.apiKey, CST: cst, 'X-SECURITY-TOKEN': xst },
      validateStatus: () => true,
    }),
  );
  return { http, cst, xst, body: res.data as Record<string, unknown> };
}

function openBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    epic: DAX,
    expiry: '-',
    direction: 'BUY',
    size: 1,
    orderType: 'MARKET',
    currencyCode: 'EUR',
    forceOpen: true,
    guaranteedStop: false,
    ...extra,
  };
}

async function open(
  s: Session,
  extra: Record<string, unknown> = {},
): Promise<{ ref: string; confirm: Record<string, unknown> }> {
  const res = await s.http.post('/positions/otc', openBody(extra), { headers: { Version: '2' } });
  expect(res.status, JSON.stringify(res.data)).toBe(200);
  const ref = (res.data as { dealReference: string }).dealReference;
  const confirm = await s.http.get(`/confirms/${ref}`, { headers: { Version: '1' } });
  expect(confirm.status).toBe(200);
  return { ref, confirm: confirm.data as Record<string, unknown> };
}

async function close(s: Session, dealId: string, size: number, direction = 'SELL'): Promise<Record<string, unknown>> {
  const res = await s.http.post(
    '/positions/otc',
    { dealId, direction, size, orderType: 'MARKET' },
    { headers: { Version: '1', _method: 'DELETE' } },
  );
  expect(res.status, JSON.stringify(res.data)).toBe(200);
  const confirm = await s.http.get(`/confirms/${(res.data as { dealReference: string }).dealReference}`);
  return confirm.data as Record<string, unknown>;
}

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../../fixtures/ig/${name}`, import.meta.url), 'utf8'));
}

/** Key paths of a JSON value (arrays through their first element). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length === 0 ? [] : keyPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}.${k}`, ...keyPaths(v, `${prefix}.${k}`)]);
}

function errorCode(res: AxiosResponse): unknown {
  return (res.data as { errorCode?: unknown }).errorCode;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('fake IG REST', () => {
  it('logs in with IG session v2 and refuses bad credentials and API keys with IG error codes', async () => {
    const ig = await fake();
    const badKey = await api(ig, 'nope').post('/session', { identifier: ig.identifier, password: ig.password });
    expect([badKey.status, errorCode(badKey)]).toEqual([403, 'error.security.api-key-invalid']);
    const noKey = await axios.post(
      `${ig.restUrl}/session`,
      { identifier: 'x', password: 'y' },
      { validateStatus: () => true },
    );
    expect([noKey.status, errorCode(noKey)]).toEqual([400, 'error.security.api-key-missing']);
    const badPw = await api(ig).post('/session', { identifier: ig.identifier, password: 'wrong' });
    expect([badPw.status, errorCode(badPw)]).toEqual([401, 'error.security.invalid-details']);

    const s = await login(ig);
    expect(s.cst).toMatch(/^[0-9a-f]{64}$/);
    expect(s.body['currentAccountId']).toBe(ig.accountId);
    expect(s.body['lightstreamerEndpoint']).toBe(ig.streamUrl);
    expect(keyPaths(s.body), 'session body has every key of IG’s documented example').toEqual(
      expect.arrayContaining(keyPaths(fixture('http_post_session_v2.json'))),
    );
    const noTokens = await api(ig).get('/positions');
    expect([noTokens.status, errorCode(noTokens)]).toEqual([401, 'error.security.client-token-missing']);
  });

  it('opens at the ask with a stop distance in points, confirms it and lists it in positions v2', async () => {
    const ig = await fake();
    const s = await login(ig);
    const { ref, confirm } = await open(s, { stopDistance: 100, limitDistance: 40, dealReference: 'tg-1' });
    expect(ref, 'a client dealReference is echoed').toBe('tg-1');
    expect(confirm).toMatchObject({
      dealStatus: 'ACCEPTED',
      status: 'OPEN',
      reason: 'SUCCESS',
      level: 18001,
      size: 1,
      direction: 'BUY',
      stopLevel: 17901,
      limitLevel: 18041,
      dealReference: 'tg-1',
    });
    expect(confirm['dealId']).toMatch(/^DIAAAA\d{9}$/);
    expect(Object.keys(confirm).sort()).toEqual(Object.keys(fixture('http_get_confirms.json') as object).sort());

    const list = await s.http.get('/positions', { headers: { Version: '2' } });
    expect(list.status).toBe(200);
    // Another version than IG documents for the endpoint would answer in another shape: refused.
    for (const version of ['1', '3']) {
      const wrong = await s.http.get('/positions', { headers: { Version: version } });
      expect(wrong.status).toBe(400);
      expect((wrong.data as { errorCode: string }).errorCode).toBe(
        `fake-ig: GET /positions is used at version 2, got ${version}`,
      );
    }
    const positions = (
      list.data as { positions: { position: Record<string, unknown>; market: Record<string, unknown> }[] }
    ).positions;
    expect(positions).toHaveLength(1);
    expect(positions[0]?.position).toMatchObject({
      dealId: confirm['dealId'],
      dealReference: 'tg-1',
      level: 18001,
      stopLevel: 17901,
      limitLevel: 18041,
      direction: 'BUY',
      size: 1,
    });
    expect(positions[0]?.market).toMatchObject({ epic: DAX, bid: 18000, offer: 18001 });
    expect(keyPaths(list.data).sort(), 'positions v2 keys as in the fixture').toEqual(
      keyPaths(fixture('http_get_positions.json')).sort(),
    );

    const one = await s.http.get(`/positions/${String(confirm['dealId'])}`, { headers: { Version: '2' } });
    expect((one.data as { position: { dealId: string } }).position.dealId).toBe(confirm['dealId']);
    const missing = await s.http.get('/positions/DIAAAA999999999');
    expect([missing.status, errorCode(missing)]).toEqual([404, 'error.position.notfound']);
    const noConfirm = await s.http.get('/confirms/unknown-ref');
    expect([noConfirm.status, errorCode(noConfirm)]).toEqual([404, 'error.confirms.deal-not-found']);
  });

  it('rejects an attached stop or limit nearer than the minimum distance (in points × pointSize)', async () => {
    const ig = await fake();
    const s = await login(ig);
    const near = await open(s, { stopDistance: 5 });
    expect(near.confirm).toMatchObject({
      dealStatus: 'REJECTED',
      reason: 'ATTACHED_ORDER_LEVEL_ERROR',
      level: null,
      affectedDeals: [],
    });
    const wrongSide = await open(s, { stopLevel: 18100 });
    expect(wrongSide.confirm).toMatchObject({ dealStatus: 'REJECTED', reason: 'ATTACHED_ORDER_LEVEL_ERROR' });
    // EURUSD: pointSize 0.0001, minimum 2 points. A SELL fills at the bid 1.1; a stop 1.5 points away is refused.
    const fx = await open(s, { epic: EURUSD, direction: 'SELL', stopLevel: 1.10015 });
    expect(fx.confirm).toMatchObject({ dealStatus: 'REJECTED', reason: 'ATTACHED_ORDER_LEVEL_ERROR' });
    const fxOk = await open(s, { epic: EURUSD, direction: 'SELL', stopLevel: 1.1002 });
    expect(fxOk.confirm).toMatchObject({ dealStatus: 'ACCEPTED', level: 1.1, stopLevel: 1.1002 });
    expect(ig.positions().map((p) => p.epic)).toEqual([EURUSD]);
    expect(keyPaths(near.confirm).sort()).toEqual(keyPaths(fixture('http_get_confirms_rejected.json')).sort());

    const forceOpenFalse = await s.http.post('/positions/otc', openBody({ forceOpen: false, stopDistance: 50 }));
    expect([forceOpenFalse.status, errorCode(forceOpenFalse)], 'stops need forceOpen true').toEqual([
      400,
      'invalid.input',
    ]);
    const noCurrency = await s.http.post('/positions/otc', { ...openBody(), currencyCode: undefined });
    expect([noCurrency.status, errorCode(noCurrency)]).toEqual([
      400,
      'validation.null-not-allowed.request.currencyCode',
    ]);
    const unknownEpic = await s.http.post('/positions/otc', openBody({ epic: 'IX.D.NOPE.DAILY.IP' }));
    expect([unknownEpic.status, errorCode(unknownEpic)]).toEqual([404, 'error.trading.otc.instrument-not-found']);
  });

  it('amends both levels, refusing a stop too near the current price, and an absent limit removes it', async () => {
    const ig = await fake();
    const s = await login(ig);
    const { confirm } = await open(s, { stopDistance: 100, limitDistance: 40 });
    const dealId = String(confirm['dealId']);
    ig.pushTick({ epic: DAX, bid: 18020, ask: 18021, time: T0 });

    const tooNear = await s.http.put(
      `/positions/otc/${dealId}`,
      { stopLevel: 18015, limitLevel: 18041, trailingStop: false },
      { headers: { Version: '2' } },
    );
    const tooNearConfirm = (
      await s.http.get(`/confirms/${String((tooNear.data as { dealReference: string }).dealReference)}`)
    ).data as Record<string, unknown>;
    expect(tooNearConfirm).toMatchObject({ dealStatus: 'REJECTED', reason: 'ATTACHED_ORDER_LEVEL_ERROR' });
    expect(ig.positions()[0]?.stopLevel, 'a refused amend changes nothing').toBe(17901);

    const ok = await s.http.put(
      `/positions/otc/${dealId}`,
      { stopLevel: 18010, limitLevel: 18041, trailingStop: false },
      { headers: { Version: '2' } },
    );
    const okConfirm = (await s.http.get(`/confirms/${String((ok.data as { dealReference: string }).dealReference)}`))
      .data as Record<string, unknown>;
    expect(okConfirm).toMatchObject({
      dealStatus: 'ACCEPTED',
      status: 'AMENDED',
      dealId,
      stopLevel: 18010,
      limitLevel: 18041,
      affectedDeals: [{ dealId, status: 'AMENDED' }],
    });

    await s.http.put(
      `/positions/otc/${dealId}`,
      { stopLevel: 18012, trailingStop: false },
      { headers: { Version: '2' } },
    );
    expect(ig.positions()[0]).toMatchObject({ stopLevel: 18012, limitLevel: null });
  });

  it('closes partly then fully at the bid through POST with _method DELETE; a real DELETE loses its body', async () => {
    const ig = await fake();
    const s = await login(ig);
    const { confirm } = await open(s, { size: 3 });
    const dealId = String(confirm['dealId']);
    ig.pushTick({ epic: DAX, bid: 18025, ask: 18026, time: T0 });

    const realDelete = await s.http.delete('/positions/otc', {
      data: { dealId, direction: 'SELL', size: 1, orderType: 'MARKET' },
    });
    expect([realDelete.status, errorCode(realDelete)]).toEqual([400, 'validation.null-not-allowed.request']);

    const partial = await close(s, dealId, 1);
    expect(partial).toMatchObject({
      dealStatus: 'ACCEPTED',
      status: 'PARTIALLY_CLOSED',
      level: 18025,
      size: 1,
      dealId,
      profit: 24,
      affectedDeals: [{ dealId, status: 'PARTIALLY_CLOSED' }],
    });
    expect(ig.positions()[0]?.size).toBe(2);

    const sameSide = await close(s, dealId, 1, 'BUY');
    expect(sameSide).toMatchObject({ dealStatus: 'REJECTED' });
    const tooBig = await close(s, dealId, 5);
    expect(tooBig).toMatchObject({ dealStatus: 'REJECTED', reason: 'POSITION_NOT_AVAILABLE_TO_CLOSE' });

    const full = await close(s, dealId, 2);
    expect(full).toMatchObject({
      status: 'CLOSED',
      level: 18025,
      size: 2,
      direction: 'SELL',
      profit: 48,
      profitCurrency: 'EUR',
      affectedDeals: [{ dealId, status: 'FULLY_CLOSED' }],
    });
    expect(keyPaths(full).sort()).toEqual(keyPaths(fixture('http_get_confirms_close.json')).sort());
    expect(ig.positions()).toEqual([]);
    const again = await close(s, dealId, 2);
    expect(again).toMatchObject({ dealStatus: 'REJECTED', reason: 'POSITION_NOT_AVAILABLE_TO_CLOSE' });
  });

  it('reports each request as it comes in (onRequest) and counts them by effective method', async () => {
    const seen: string[] = [];
    const ig = await startFakeIg({
      markets: [{ epic: DAX, bid: 18000, ask: 18001, minStopDistance: 6, decimals: 1 }],
      onRequest: (r) => seen.push(`${r.method} ${r.path}`),
    });
    servers.push(ig);
    const s = await login(ig);
    const { confirm } = await open(s, { size: 2 });
    const dealId = String(confirm['dealId']);
    await close(s, dealId, 1);
    expect(
      seen.filter((r) => !r.startsWith('GET')),
      'in order, the POST-tunnelled close as DELETE',
    ).toEqual(['POST /session', 'POST /positions/otc', 'DELETE /positions/otc']);
    expect(seen, 'every request, as the log has it').toEqual(ig.requests().map((r) => `${r.method} ${r.path}`));
    expect([ig.requestCount(), ig.requestCount('POST'), ig.requestCount('DELETE'), ig.requestCount('PUT')]).toEqual([
      seen.length,
      2,
      1,
      0,
    ]);
  });

  it('answers markets v3 with the dealing rules and the latest snapshot', async () => {
    const ig = await fake();
    const s = await login(ig);
    ig.pushTick({ epic: EURUSD, bid: 1.10012, ask: 1.10021, time: T0 });
    const res = await s.http.get(`/markets/${EURUSD}`, { headers: { Version: '3' } });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({
      dealingRules: { minNormalStopOrLimitDistance: { unit: 'POINTS', value: 2 } },
      snapshot: { bid: 1.10012, offer: 1.10021, decimalPlacesFactor: 5, marketStatus: 'TRADEABLE' },
      instrument: { epic: EURUSD, onePipMeans: '0.0001' },
    });
    expect(keyPaths(res.data)).toEqual(expect.arrayContaining(keyPaths(fixture('http_get_markets_epic.json'))));
    const unknown = await s.http.get('/markets/IX.D.NOPE.DAILY.IP');
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'error.service.marketdata.instrument.epic.unavailable']);
  });

  it('keeps activity and transaction history of closes made while nobody watched', async () => {
    const ig = await fake();
    const s = await login(ig);
    ig.pushTick({ epic: DAX, bid: 18000, ask: 18001, time: T0 });
    const stopped = String((await open(s, { stopDistance: 100 })).confirm['dealId']);
    const external = ig.openExternally({ epic: DAX, direction: 'SELL', size: 2 });
    ig.pushTick({ epic: DAX, bid: 17899.4, ask: 17900.8, time: T0 + 60_000 }); // BUY stop 17901 hit at the bid
    ig.closeExternally(external, 17890, 2);
    expect(ig.positions()).toEqual([]);

    const from = '2024-03-05T08:00:00';
    const to = '2024-03-05T10:00:00';
    const detailed = await s.http.get('/history/activity', {
      params: { from, to, detailed: true },
      headers: { Version: '3' },
    });
    expect(detailed.status).toBe(200);
    const activities = (
      detailed.data as {
        activities: {
          channel: string;
          details: { level: number; actions: { actionType: string; affectedDealId: string }[] } | null;
        }[];
      }
    ).activities;
    const stopClose = activities.find((a) =>
      a.details?.actions.some((x) => x.actionType === 'POSITION_CLOSED' && x.affectedDealId === stopped),
    );
    expect(stopClose, 'the stop fill is in the activity').toMatchObject({
      channel: 'SYSTEM',
      details: { level: 17899.4, direction: 'SELL' },
    });
    const webClose = activities.find((a) =>
      a.details?.actions.some((x) => x.affectedDealId === external && x.actionType === 'POSITION_CLOSED'),
    );
    expect(webClose).toMatchObject({ channel: 'WEB', details: { level: 17890, direction: 'BUY', size: 2 } });
    expect(keyPaths(detailed.data)).toEqual(
      expect.arrayContaining(keyPaths(fixture('http_get_history_activity_v3.json'))),
    );

    const plain = await s.http.get('/history/activity', { params: { from, to }, headers: { Version: '3' } });
    expect(
      (plain.data as { activities: { details: unknown }[] }).activities.every((a) => a.details === null),
      'details only when detailed=true',
    ).toBe(true);
    const byDeal = await s.http.get('/history/activity', {
      params: { from, dealId: stopped, detailed: true },
      headers: { Version: '3' },
    });
    expect((byDeal.data as { activities: unknown[] }).activities).toHaveLength(2); // opened, closed
    const before = await s.http.get('/history/activity', {
      params: { from: '2024-03-04', to: '2024-03-04' },
      headers: { Version: '3' },
    });
    expect((before.data as { activities: unknown[] }).activities).toEqual([]);

    const tx = await s.http.get('/history/transactions', { params: { from, to }, headers: { Version: '2' } });
    const transactions = (tx.data as { transactions: Record<string, unknown>[] }).transactions;
    expect(transactions.map((t) => [t['openLevel'], t['closeLevel'], t['size'], t['profitAndLoss']])).toEqual([
      ['18000.0', '17890.0', '-2.00', 'E220.00'], // newest first: the SELL closed on the web
      ['18001.0', '17899.4', '+1.00', 'E-101.60'],
    ]);
    expect(keyPaths(tx.data).sort()).toEqual(keyPaths(fixture('http_get_history_transactions_v2.json')).sort());
    const recent = await s.http.get('/history/transactions', { headers: { Version: '2' } });
    expect(
      (recent.data as { transactions: unknown[] }).transactions,
      'default span: the last 600 s of broker time',
    ).toHaveLength(2);
  });

  it('pages /history/activity through metadata.paging.next without repeating or losing an item', async () => {
    const ig = await fake();
    const s = await login(ig);
    // 15 open/close pairs, 400 ms apart: 30 activities, several in each whole second.
    for (let i = 0; i < 15; i += 1) {
      ig.pushTick({ epic: DAX, bid: 18000 + i, ask: 18001 + i, time: T0 + i * 400 });
      ig.closeExternally(ig.openExternally({ epic: DAX, direction: 'BUY', size: 1 }));
    }
    const seen: string[] = [];
    let url: string | null = `/history/activity?from=2024-03-05T00:00:00&to=2024-03-05T23:00:00&pageSize=10`;
    let pages = 0;
    while (url !== null && pages < 10) {
      const res = await s.http.get(url, { headers: { Version: '3' } });
      expect(res.status).toBe(200);
      const body = res.data as { activities: { dealId: string }[]; metadata: { paging: { next: string | null } } };
      seen.push(...body.activities.map((a) => a.dealId));
      url = body.metadata.paging.next;
      pages += 1;
    }
    expect(pages, 'several pages').toBeGreaterThan(2);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size, 'no activity twice').toBe(30);
  });

  it('failNext answers an injected error once, or after performing the deal (outcome unknown)', async () => {
    const ig = await fake();
    const s = await login(ig);
    ig.failNext(
      { method: 'GET', path: '/positions' },
      { status: 403, body: { errorCode: 'error.public-api.exceeded-api-key-allowance' } },
    );
    const limited = await s.http.get('/positions');
    expect([limited.status, errorCode(limited)]).toEqual([403, 'error.public-api.exceeded-api-key-allowance']);
    expect((await s.http.get('/positions')).status, 'only the next call fails').toBe(200);

    ig.failNext({ method: 'POST', path: '/positions/otc' }, { status: 500, afterExecute: true });
    const unknown = await s.http.post('/positions/otc', openBody({ dealReference: 'unsure-1' }));
    expect([unknown.status, errorCode(unknown)]).toEqual([500, 'system.error']);
    expect(ig.positions(), 'the deal was made although the answer was an error').toHaveLength(1);
    const confirm = await s.http.get('/confirms/unsure-1');
    expect(confirm.data).toMatchObject({ dealStatus: 'ACCEPTED', status: 'OPEN' });
    // Resubmitting the same dealReference makes no second deal.
    await s.http.post('/positions/otc', openBody({ dealReference: 'unsure-1' }));
    expect(ig.positions()).toHaveLength(1);
    const opens = ig.requests().filter((r) => r.method === 'POST' && r.path === '/positions/otc');
    expect(opens.map((r) => (r.body as { dealReference?: string }).dealReference)).toEqual(['unsure-1', 'unsure-1']);

    ig.failNext({ method: 'DELETE', path: /^\/positions\/otc$/ }, { status: 0, afterExecute: true, times: 1 });
    const reset = await s.http
      .post(
        '/positions/otc',
        { dealId: ig.positions()[0]?.dealId, direction: 'SELL', size: 1, orderType: 'MARKET' },
        { headers: { _method: 'DELETE' } },
      )
      .then(
        () => 'answered',
        (e: unknown) => (axios.isAxiosError(e) ? 'network error' : 'other'),
      );
    expect(reset).toBe('network error');
    expect(ig.positions(), 'the close happened before the connection dropped').toEqual([]);

    ig.failNext({ method: 'GET', path: /^\/markets\// }, { status: 503, times: 2 });
    const codes = [];
    for (let i = 0; i < 3; i += 1) codes.push((await s.http.get(`/markets/${DAX}`)).status);
    expect(codes).toEqual([503, 503, 200]);
  });

  it('expireTokens makes the next authenticated call answer 401 until a new login', async () => {
    const ig = await fake();
    const s = await login(ig);
    expect((await s.http.get('/positions')).status).toBe(200);
    ig.expireTokens();
    const expired = await s.http.get('/positions');
    expect([expired.status, errorCode(expired)]).toEqual([401, 'error.security.client-token-invalid']);
    const again = await login(ig);
    expect((await again.http.get('/positions')).status).toBe(200);
    expect((await s.http.get('/positions')).status, 'old tokens stay dead').toBe(401);
  });
});

describe('fake IG Lightstreamer (real lightstreamer-client-node)', () => {
  interface Stream {
    client: LightstreamerClient;
    statuses: string[];
    serverErrors: [number, string][];
  }

  function connect(ig: FakeIg, s: Session, password = `CST-${s.cst}|XST-${s.xst}`): Stream {
    const client = new LightstreamerClient(String(s.body['lightstreamerEndpoint']));
    clients.push(client);
    client.connectionOptions.setForcedTransport('WS-STREAMING');
    client.connectionDetails.setUser(ig.accountId);
    client.connectionDetails.setPassword(password);
    const stream: Stream = { client, statuses: [], serverErrors: [] };
    client.addListener({
      onStatusChange: (status: string) => stream.statuses.push(status),
      onServerError: (code: number, message: string) => stream.serverErrors.push([code, message]),
    });
    client.connect();
    return stream;
  }

  interface Received {
    ticks: Record<string, string | null>[];
    trade: { field: string; json: Record<string, unknown> }[];
    subscribed: string[];
    errors: [number, string][];
  }

  function subscribe(stream: Stream, ig: FakeIg, received: Received): void {
    const chart = new Subscription('DISTINCT', [`CHART:${DAX}:TICK`], ['BID', 'OFR', 'UTM', 'LTV']);
    chart.setRequestedSnapshot('no');
    chart.addListener({
      onSubscription: () => received.subscribed.push('CHART'),
      onItemUpdate: (u: ItemUpdate) =>
        received.ticks.push({
          BID: u.getValue('BID'),
          OFR: u.getValue('OFR'),
          UTM: u.getValue('UTM'),
          LTV: u.getValue('LTV'),
        }),
    });
    const trade = new Subscription('DISTINCT', [`TRADE:${ig.accountId}`], ['CONFIRMS', 'OPU', 'WOU']);
    trade.setRequestedSnapshot('no');
    trade.addListener({
      onSubscription: () => received.subscribed.push('TRADE'),
      onSubscriptionError: (code: number, message: string) => received.errors.push([code, message]),
      // Unchanged fields keep their last value: only changed, non-null fields are events.
      onItemUpdate: (u: ItemUpdate) =>
        u.forEachChangedField((field: string, _pos: number, value: string | null) => {
          if (value !== null) received.trade.push({ field, json: JSON.parse(value) as Record<string, unknown> });
        }),
    });
    stream.client.subscribe(chart);
    stream.client.subscribe(trade);
  }

  function fresh(): Received {
    return { ticks: [], trade: [], subscribed: [], errors: [] };
  }

  it('connects over WebSocket, subscribes CHART and TRADE, and receives ticks', async () => {
    const ig = await fake();
    const s = await login(ig);
    const stream = connect(ig, s);
    const got = fresh();
    subscribe(stream, ig, got);
    await waitFor('both subscriptions', () => (got.subscribed.length === 2 ? true : undefined));
    expect(stream.statuses).toContain('CONNECTED:WS-STREAMING');
    expect(ig.subscriptions().sort()).toEqual([`CHART:${DAX}:TICK`, `TRADE:${ig.accountId}`]);

    ig.pushTick({ epic: DAX, bid: 18002.5, ask: 18003.9, time: T0 });
    ig.pushTick({ epic: EURUSD, bid: 1.2, ask: 1.2001, time: T0 + 1 }); // another market: not on this item
    ig.pushTick({ epic: DAX, bid: 18002.5, ask: 18004.1, time: T0 + 2 });
    await waitFor('two DAX ticks', () => (got.ticks.length >= 2 ? true : undefined));
    expect(got.ticks).toEqual([
      { BID: '18002.5', OFR: '18003.9', UTM: String(T0), LTV: '' },
      { BID: '18002.5', OFR: '18004.1', UTM: String(T0 + 2), LTV: '' }, // BID sent as "unchanged", still read back
    ]);
  });

  it('delivers CONFIRMS and OPU for a REST deal, then the OPU DELETED of a stop hit by pushTick', async () => {
    const ig = await fake();
    const s = await login(ig);
    const stream = connect(ig, s);
    const got = fresh();
    subscribe(stream, ig, got);
    await waitFor('subscriptions', () => (got.subscribed.length === 2 ? true : undefined));

    const { confirm } = await open(s, { stopDistance: 10, dealReference: 'stream-1' });
    const dealId = String(confirm['dealId']);
    await waitFor('CONFIRMS and OPU OPEN', () => (got.trade.length >= 2 ? true : undefined));
    expect(got.trade.map((t) => [t.field, t.json['status']])).toEqual([
      ['CONFIRMS', 'OPEN'],
      ['OPU', 'OPEN'],
    ]);
    expect(got.trade[0]?.json).toMatchObject({
      dealReference: 'stream-1',
      dealId,
      dealStatus: 'ACCEPTED',
      channel: 'PublicRestOTC',
    });
    expect(Object.keys(got.trade[0]?.json ?? {}).sort()).toEqual(
      Object.keys(fixture('ls_trade_confirms.json') as object).sort(),
    );
    expect(Object.keys(got.trade[1]?.json ?? {}).sort()).toEqual(
      Object.keys(fixture('ls_trade_opu.json') as object).sort(),
    );

    ig.pushTick({ epic: DAX, bid: 17989.5, ask: 17990.5, time: T0 }); // stop 17991 (ask 18001 - 10): hit at the bid
    const deleted = await waitFor('OPU DELETED', () =>
      got.trade.find((t) => t.field === 'OPU' && t.json['status'] === 'DELETED'),
    );
    expect(deleted.json).toMatchObject({
      dealId,
      dealReference: 'stream-1',
      direction: 'BUY',
      level: 17989.5,
      size: 0,
      stopLevel: 17991,
      channel: 'OSAutoStopFill',
      timestamp: '2024-03-05T09:00:00.000',
    });
    expect(
      got.ticks.map((t) => t['BID']),
      'the tick went out before the fill',
    ).toEqual(['17989.5']);
    expect(ig.positions()).toEqual([]);

    const adopted = ig.openExternally({ epic: DAX, direction: 'SELL', size: 2, stopLevel: 18100 });
    const opened = await waitFor('OPU OPEN from the web', () => got.trade.find((t) => t.json['dealId'] === adopted));
    expect(opened.json).toMatchObject({
      status: 'OPEN',
      direction: 'SELL',
      size: 2,
      level: 17989.5,
      stopLevel: 18100,
      channel: 'WTP',
    });
    ig.closeExternally(adopted, 17980, 0.5);
    const updated = await waitFor('OPU UPDATED', () =>
      got.trade.find((t) => t.json['dealId'] === adopted && t.json['status'] === 'UPDATED'),
    );
    expect(updated.json).toMatchObject({ size: 1.5, channel: 'WTP' });
  });

  it('reconnects and resubscribes after dropStreams, and streams again', async () => {
    const ig = await fake();
    const s = await login(ig);
    const stream = connect(ig, s);
    const got = fresh();
    subscribe(stream, ig, got);
    await waitFor('subscriptions', () => (got.subscribed.length === 2 ? true : undefined));

    ig.dropStreams();
    expect(ig.subscriptions(), 'the dropped session is gone').toEqual([]);
    await waitFor('resubscribed', () =>
      got.subscribed.length === 4 && ig.subscriptions().length === 2 ? true : undefined,
    );
    expect(stream.statuses.filter((x) => x === 'CONNECTED:WS-STREAMING')).toHaveLength(2);
    expect(stream.statuses).toContain('DISCONNECTED:WILL-RETRY');

    ig.pushTick({ epic: DAX, bid: 18010, ask: 18011, time: T0 });
    await waitFor('tick after reconnection', () => got.ticks.find((t) => t['BID'] === '18010'));
  });

  it('refuses a stream login that is not CST-{cst}|XST-{xst} of a live session, and unknown items', async () => {
    const ig = await fake();
    const s = await login(ig);
    const bad = connect(ig, s, `CST-${s.cst}|XST-wrong`);
    await waitFor('server error', () => bad.serverErrors[0]);
    expect(bad.serverErrors[0]?.[0]).toBe(1);
    expect(bad.statuses.at(-1)).toBe('DISCONNECTED');

    const good = connect(ig, s);
    const sub = new Subscription('DISTINCT', ['CHART:IX.D.NOPE.DAILY.IP:TICK'], ['BID']);
    const errors: number[] = [];
    sub.addListener({ onSubscriptionError: (code: number) => errors.push(code) });
    good.client.subscribe(sub);
    await waitFor('subscription error', () => errors[0]);
    expect(errors).toEqual([21]);
  });
});
