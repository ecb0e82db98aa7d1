/**
 * IG REST gateway (`/gateway/deal/...`) of the fake IG server.
 *
 * Status codes and error codes are IG's as listed per endpoint in the labs reference
 * (https://labs.ig.com/reference/*.html, "Exceptions" tables). Response shapes: wire.ts/broker.ts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeIgBroker, IgHttpError } from './broker.js';
import { type IgActivity, isoUtcSec } from './wire.js';

export const BASE_PATH = '/gateway/deal';

export interface LoggedRequest {
  /** Effective method: the `_method` header (IG's DELETE-with-body tunnel) wins over the HTTP verb. */
  method: string;
  /** Path below /gateway/deal, without the query, e.g. '/positions/otc'. */
  path: string;
  /** Path and query as sent, below /gateway/deal. */
  url: string;
  body: unknown;
  /** Header names in lower case, as Node reports them. */
  headers: Record<string, string>;
}

export interface FaultMatch {
  /** Effective method (see LoggedRequest.method), case-insensitive. */
  method: string;
  /** Path below /gateway/deal (e.g. '/positions/otc'); a string must match exactly. */
  path: string | RegExp;
}

export interface FaultReply {
  /** HTTP status to answer; 0 resets the connection without any answer. */
  status: number;
  /** Body to answer [{errorCode: 'system.error'}]. */
  body?: unknown;
  /** Perform the request (e.g. the deal) first, then answer the error: the "outcome unknown" case. */
  afterExecute?: boolean;
  /** How many matching requests fail [1]. */
  times?: number;
}

interface Fault {
  match: FaultMatch;
  reply: FaultReply;
  left: number;
}

export interface Credentials {
  apiKey: string;
  identifier: string;
  password: string;
  accountId: string;
  currency: string;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A copy of a logged request that its receiver may change without changing the log. */
function copyOf(request: LoggedRequest): LoggedRequest {
  return { ...request, headers: { ...request.headers } };
}

export class RestGateway {
  private readonly log: LoggedRequest[] = [];
  private readonly faults: Fault[] = [];
  /** CST → X-SECURITY-TOKEN of every live session. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly broker: FakeIgBroker,
    private readonly creds: Credentials,
    private readonly streamUrl: () => string,
    private readonly onRequest?: (request: LoggedRequest) => void,
  ) {}

  requests(): LoggedRequest[] {
    return this.log.map(copyOf);
  }

  /** How many requests (of this method) came in, copying nothing: for loops that poll it. */
  requestCount(method?: string): number {
    let n = 0;
    for (const r of this.log) if (method === undefined || r.method === method) n++;
    return n;
  }

  failNext(match: FaultMatch, reply: FaultReply): void {
    this.faults.push({ match, reply, left: reply.times ?? 1 });
  }

  /** Every token issued so far stops working: the next authenticated call answers 401. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** Lightstreamer login (IG convention): user = account id, password = "CST-{cst}|XST-{xst}". */
  acceptsStreamLogin(user: string | undefined, password: string | undefined): boolean {
    if (user !== this.creds.accountId || password === undefined) return false;
    const m = /^CST-(.*)\|XST-(.*)$/.exec(password);
    return m !== null && m[1] !== undefined && this.tokens.get(m[1]) === m[2];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-ig');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const raw = await readBody(req);
    const method = (headers['_method'] ?? req.method ?? 'GET').toUpperCase();
    const path = url.pathname.startsWith(BASE_PATH) ? url.pathname.slice(BASE_PATH.length) || '/' : url.pathname;
    const search = url.search;

    let body: unknown = undefined;
    let badJson = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        badJson = true;
        body = raw;
      }
    }
    const logged: LoggedRequest = { method, path, url: path + search, body, headers };
    this.log.push(logged);
    this.onRequest?.(copyOf(logged));

    const fault = this.takeFault(method, path);
    if (fault !== undefined && fault.status === 0) {
      if (fault.afterExecute === true) this.answer(method, path, url, body, badJson, headers, req);
      req.socket.destroy();
      this.broker.flush();
      return;
    }
    let answer: Answer;
    if (fault !== undefined && fault.afterExecute !== true) {
      answer = { status: fault.status, body: fault.body ?? { errorCode: 'system.error' } };
    } else {
      answer = this.answer(method, path, url, body, badJson, headers, req);
      if (fault !== undefined) answer = { status: fault.status, body: fault.body ?? { errorCode: 'system.error' } };
    }
    send(res, answer);
    // Stream events follow the HTTP answer, as on IG (the dealReference comes first).
    this.broker.flush();
  }

  private takeFault(method: string, path: string): FaultReply | undefined {
    const f = this.faults.find(
      (x) =>
        x.left > 0 &&
        x.match.method.toUpperCase() === method &&
        (typeof x.match.path === 'string'
          ? x.match.path === path || x.match.path === BASE_PATH + path
          : x.match.path.test(path)),
    );
    if (f === undefined) return undefined;
    f.left -= 1;
    if (f.left === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f.reply;
  }

  private answer(
    method: string,
    path: string,
    url: URL,
    body: unknown,
    badJson: boolean,
    headers: Record<string, string>,
    req: IncomingMessage,
  ): Answer {
    try {
      if (!url.pathname.startsWith(BASE_PATH)) throw new IgHttpError(404, 'invalid.url');
      this.checkApiKey(headers);
      this.checkVersion(method, path, headers);
      if (path === '/session' && method === 'POST') return this.login(body);
      this.checkTokens(headers);
      if (badJson) throw new IgHttpError(400, 'invalid.input');
      const json = (body ?? {}) as Record<string, unknown>;
      if (typeof json !== 'object' || Array.isArray(json)) throw new IgHttpError(400, 'invalid.input');
      return this.route(method, path, url.searchParams, json, headers, req);
    } catch (e) {
      if (e instanceof IgHttpError) return { status: e.status, body: { errorCode: e.errorCode } };
      throw e;
    }
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    headers: Record<string, string>,
    req: IncomingMessage,
  ): Answer {
    const seg = path
      .split('/')
      .filter((s) => s.length > 0)
      .map(decodeURIComponent);
    const [a, b, c] = seg;
    if (a === 'session' && seg.length === 1) {
      if (method === 'GET') return this.sessionDetails();
      if (method === 'DELETE') {
        this.tokens.delete(headers['cst'] ?? '');
        return { status: 204 };
      }
    }
    if (a === 'positions') {
      if (seg.length === 1 && method === 'GET') {
        return { status: 200, body: { positions: this.broker.positions().map((p) => this.broker.positionView(p)) } };
      }
      if (b === 'otc' && seg.length === 2) {
        if (method === 'POST') return { status: 200, body: { dealReference: this.broker.openPosition(body) } };
        if (method === 'DELETE') {
          // IG's gateway drops the body of a real DELETE, so every close field reads as null;
          // only POST with `_method: DELETE` carries one (widely reported against demo-api.ig.com).
          if (req.method?.toUpperCase() === 'DELETE') throw new IgHttpError(400, 'validation.null-not-allowed.request');
          return { status: 200, body: { dealReference: this.broker.closePosition(body) } };
        }
      }
      if (b === 'otc' && c !== undefined && seg.length === 3 && method === 'PUT') {
        return { status: 200, body: { dealReference: this.broker.amendPosition(c, body) } };
      }
      if (b !== undefined && b !== 'otc' && seg.length === 2 && method === 'GET') {
        const p = this.broker.position(b);
        if (p === undefined) throw new IgHttpError(404, 'error.position.notfound');
        return { status: 200, body: this.broker.positionView(p) };
      }
    }
    if (a === 'confirms' && b !== undefined && seg.length === 2 && method === 'GET') {
      const confirm = this.broker.confirm(b);
      if (confirm === undefined) throw new IgHttpError(404, 'error.confirms.deal-not-found');
      return { status: 200, body: confirm };
    }
    if (a === 'markets' && b !== undefined && seg.length === 2 && method === 'GET') {
      return { status: 200, body: this.broker.marketView(b) };
    }
    if (a === 'history' && seg.length === 2 && method === 'GET') {
      if (b === 'activity') return { status: 200, body: this.activity(query) };
      if (b === 'transactions') return { status: 200, body: this.transactions(query) };
    }
    throw new IgHttpError(404, 'invalid.url');
  }

  // ---------------------------------------------------------------- security

  /**
   * The endpoint versions of IG's REST reference (labs.ig.com/reference): each answers in its own
   * shape, and a request without VERSION gets version 1. A client sending another version would
   * get another shape from IG: here it is refused, so tests see the mistake.
   */
  private checkVersion(method: string, path: string, headers: Record<string, string>): void {
    const sent = headers['version'] ?? '1';
    const expected = endpointVersion(method, path);
    if (expected !== undefined && sent !== expected)
      throw new IgHttpError(400, `fake-ig: ${method} ${path} is used at version ${expected}, got ${sent}`);
  }

  private checkApiKey(headers: Record<string, string>): void {
    const key = headers['x-ig-api-key'];
    if (key === undefined || key === '') throw new IgHttpError(400, 'error.security.api-key-missing');
    if (key !== this.creds.apiKey) throw new IgHttpError(403, 'error.security.api-key-invalid');
  }

  private checkTokens(headers: Record<string, string>): void {
    const cst = headers['cst'];
    const xst = headers['x-security-token'];
    if (cst === undefined || cst === '') throw new IgHttpError(401, 'error.security.client-token-missing');
    const expected = this.tokens.get(cst);
    if (expected === undefined) throw new IgHttpError(401, 'error.security.client-token-invalid');
    if (xst === undefined || xst === '') throw new IgHttpError(401, 'error.security.account-token-missing');
    if (xst !== expected) throw new IgHttpError(401, 'error.security.account-token-invalid');
  }

  /** POST /session v2; the body follows IG's documented example and the v2 response DTO. */
  private login(body: unknown): Answer {
    const json = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof json['identifier'] !== 'string' || typeof json['password'] !== 'string') {
      throw new IgHttpError(400, 'invalid.input');
    }
    if (json['identifier'] !== this.creds.identifier || json['password'] !== this.creds.password) {
      throw new IgHttpError(401, 'error.security.invalid-details');
    }
    const cst = randomBytes(32).toString('hex');
    const xst = randomBytes(32).toString('hex');
    this.tokens.set(cst, xst);
    const accountId = this.creds.accountId;
    return {
      status: 200,
      headers: { CST: cst, 'X-SECURITY-TOKEN': xst },
      body: {
        accountType: 'CFD',
        accountInfo: { balance: 10000, deposit: 0, profitLoss: 0, available: 10000 },
        currencyIsoCode: this.creds.currency,
        currencySymbol: this.creds.currency === 'EUR' ? 'E' : this.creds.currency,
        currentAccountId: accountId,
        lightstreamerEndpoint: this.streamUrl(),
        accounts: [{ accountId, accountName: 'CFD', preferred: true, accountType: 'CFD' }],
        clientId: '100000001',
        timezoneOffset: 0,
        hasActiveDemoAccounts: true,
        hasActiveLiveAccounts: false,
        trailingStopsEnabled: false,
        reroutingEnvironment: null,
        dealingEnabled: true,
      },
    };
  }

  /** GET /session v1. */
  private sessionDetails(): Answer {
    return {
      status: 200,
      body: {
        clientId: '100000001',
        accountId: this.creds.accountId,
        timezoneOffset: 0,
        locale: 'en_GB',
        currency: this.creds.currency,
        lightstreamerEndpoint: this.streamUrl(),
      },
    };
  }

  // ---------------------------------------------------------------- history

  /**
   * GET /history/activity v3: from, to, detailed [false: details null], dealId, filter (FIQL
   * `field==value`/`field!=value` joined by `;`), pageSize [50, 10..500]. Newest first;
   * `metadata.paging.next` points at the older page.
   */
  private activity(q: URLSearchParams): object {
    const from = parseIgDate(q.get('from'), 'from');
    const to = parseIgDate(q.get('to'), 'to');
    const detailed = q.get('detailed') === 'true';
    const dealId = q.get('dealId');
    const pageSize = pageSizeParam(q.get('pageSize'), 50, 10, 500);
    const filter = q.get('filter');
    let items: IgActivity[] = this.broker
      .activities()
      .filter((a) => inRange(Date.parse(`${a.date}Z`), from, to))
      .filter(
        (a) =>
          dealId === null ||
          a.dealId === dealId ||
          (a.details?.actions.some((x) => x.affectedDealId === dealId) ?? false),
      )
      .filter((a) => filter === null || matchesFiql(a, filter))
      .reverse();
    let next: string | null = null;
    if (items.length > pageSize) {
      // IG's dates have whole seconds and `next` pages by `to`: a page never splits a second (it may
      // run over pageSize), and the next one ends at the second before, so nothing repeats or is lost.
      const boundary = items[pageSize - 1]?.date ?? '';
      let end = pageSize;
      while (items[end]?.date === boundary) end += 1;
      const older = items.length > end;
      items = items.slice(0, end);
      if (older) {
        const to = isoUtcSec(Date.parse(`${boundary}Z`) - 1000);
        const keep = new URLSearchParams({ version: '3' });
        for (const key of ['from', 'dealId', 'filter']) {
          const v = q.get(key);
          if (v !== null) keep.set(key, v);
        }
        keep.set('to', to);
        keep.set('detailed', String(detailed));
        keep.set('pageSize', String(pageSize));
        next = `/history/activity?${keep.toString()}`;
      }
    }
    return {
      activities: items.map((a) => (detailed ? a : { ...a, details: null })),
      metadata: { paging: { size: items.length, next } },
    };
  }

  /**
   * GET /history/transactions v2: type [ALL], from, to, maxSpanSeconds [600, only without a
   * date range], pageSize [20; 0 = no paging], pageNumber [1]. Newest first.
   */
  private transactions(q: URLSearchParams): object {
    const type = q.get('type') ?? 'ALL';
    if (!['ALL', 'ALL_DEAL', 'DEPOSIT', 'WITHDRAWAL'].includes(type)) throw new IgHttpError(400, 'invalid.input');
    let from = parseIgDate(q.get('from'), 'from');
    const to = parseIgDate(q.get('to'), 'to');
    if (from === undefined && to === undefined) {
      const span = Number(q.get('maxSpanSeconds') ?? '600');
      if (!Number.isFinite(span) || span < 0) throw new IgHttpError(400, 'invalid.input');
      from = this.broker.now() - span * 1000;
    }
    const pageSize = pageSizeParam(q.get('pageSize'), 20, 0, Number.MAX_SAFE_INTEGER);
    const pageNumber = Number(q.get('pageNumber') ?? '1');
    if (!Number.isInteger(pageNumber) || pageNumber < 1) throw new IgHttpError(400, 'invalid.input');
    const all =
      type === 'DEPOSIT' || type === 'WITHDRAWAL'
        ? []
        : this.broker
            .transactions()
            .filter((t) => inRange(Date.parse(`${t.dateUtc}Z`), from, to))
            .reverse();
    const size = pageSize === 0 ? all.length : pageSize;
    const totalPages = size === 0 ? 1 : Math.max(1, Math.ceil(all.length / size));
    const page = pageSize === 0 ? all : all.slice((pageNumber - 1) * size, pageNumber * size);
    return {
      transactions: page,
      metadata: { size: page.length, pageData: { pageNumber, pageSize: size, totalPages } },
    };
  }
}

function inRange(t: number, from: number | undefined, to: number | undefined): boolean {
  return (from === undefined || t >= from) && (to === undefined || t <= to);
}

/**
 * IG dates: "2020-10-28T00:00:00" (UTC) or "2020-10-28". A date without time as `to` means the
 * end of that day (labs reference for /history/activity v3).
 */
function parseIgDate(value: string | null, which: 'from' | 'to'): number | undefined {
  if (value === null || value === '') return undefined;
  let ms: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    ms = Date.parse(`${value}T00:00:00Z`);
    if (which === 'to') ms += 86_400_000 - 1;
  } else {
    ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`);
    // IG's dates have whole seconds: `to` covers the whole of its last second.
    if (which === 'to' && !/\.\d+/.test(value)) ms += 999;
  }
  if (Number.isNaN(ms)) throw new IgHttpError(400, 'error.malformed.date');
  return ms;
}

function pageSizeParam(value: string | null, fallback: number, min: number, max: number): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new IgHttpError(400, 'error.request.invalid.page-size');
  return n;
}

function matchesFiql(a: IgActivity, filter: string): boolean {
  return filter.split(';').every((clause) => {
    const m = /^(\w+)(==|!=)(.*)$/.exec(clause);
    if (m === null) throw new IgHttpError(400, 'invalid.input');
    const [, field = '', op, want] = m;
    const have = (a as unknown as Record<string, unknown>)[field];
    const equal = String(have) === want;
    return op === '==' ? equal : !equal;
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, a: Answer): void {
  const headers: Record<string, string> = { ...(a.headers ?? {}) };
  if (a.body === undefined) {
    res.writeHead(a.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(a.body);
  headers['Content-Type'] = 'application/json; charset=UTF-8';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(a.status, headers);
  res.end(text);
}

/** The version trailguard's endpoints are documented at; undefined for a route the fake does not check. */
export function endpointVersion(method: string, path: string): string | undefined {
  const route = path.replace(
    /^\/(positions\/otc|positions|confirms|markets)\/[^/]+$/,
    (_m, base: string) => `/${base}/ID`,
  );
  const table: Record<string, string> = {
    'POST /session': '2',
    'PUT /session': '1',
    'GET /session': '1',
    'DELETE /session': '1',
    'GET /positions': '2',
    'GET /positions/ID': '2',
    'POST /positions/otc': '2',
    'DELETE /positions/otc': '1',
    'PUT /positions/otc/ID': '2',
    'GET /confirms/ID': '1',
    'GET /markets/ID': '3',
    'GET /history/activity': '3',
    'GET /history/transactions': '2',
  };
  return table[`${method} ${route}`];
}
