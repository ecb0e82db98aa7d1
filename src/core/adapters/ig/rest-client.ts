/**
 * IG REST client (https://labs.ig.com/rest-trading-api-reference).
 *
 * Rules (STYLE habit 6):
 * - reads retry transient failures with a bounded exponential backoff, honouring retryAfterMs;
 * - a deal (open / amend / close) is sent ONCE. When its outcome is unknown (timeout, 5xx,
 *   connection reset, malformed answer) it is settled by asking IG — GET /confirms/{ref}, the
 *   position itself, the account activity — never by sending it again;
 * - an expired session token (error.security.client-token-invalid...) triggers one new login and
 *   one replay of the same request; for a deal that is safe only because the 401 proves IG did
 *   not execute it;
 * - every request goes through the rate limiter;
 * - no secret (API key, identifier, password, CST, X-SECURITY-TOKEN) ever reaches an error or a
 *   log: axios errors (whose `config.headers` hold the secrets) are never rethrown or wrapped,
 *   only their `code` is kept, and messages pass through `redact()`.
 *
 * IG facts used here:
 * - base URLs https://demo-api.ig.com/gateway/deal and https://api.ig.com/gateway/deal
 *   (https://labs.ig.com/rest-trading-api-guide);
 * - headers X-IG-API-KEY, CST, X-SECURITY-TOKEN, Version, JSON content type (same guide);
 * - POST /session v2 returns CST and X-SECURITY-TOKEN as response headers; PUT /session v1
 *   switches the active account;
 * - POST /positions/otc v2 takes a user `dealReference` ([A-Za-z0-9_-]{1,30}) — open is the only
 *   deal that can carry our own reference; PUT /positions/otc/{dealId} v2 (amend) and
 *   DELETE /positions/otc v1 (close) cannot, their reference comes back in the answer;
 * - DELETE /positions/otc is sent as POST with the header `_method: DELETE` (https://labs.ig.com/faq:
 *   "Some HTTP client libraries do not support DELETE operations with a request body");
 * - an amend replaces both levels: a level not sent is removed.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { BrokerRejected, BrokerUnavailable, InvariantError, UserError } from '../../domain/errors.js';
import type { Direction } from '../../domain/types.js';
import { redact, secretsOf, type IgCredentials } from './credentials.js';
import { classifyIgFailure, DEAL_OUTCOME_UNKNOWN, IgSessionExpired } from './errors.js';
import {
  RateLimiter,
  realSleep,
  StopAmendCoalescer,
  type CoalescedOutcome,
  type LimiterWait,
  type RequestKind,
  type TradingLane,
} from './limiter.js';
import {
  activityFromIg,
  confirmFromIg,
  DEAL_REFERENCE_PATTERN,
  formatIgTime,
  marketRulesFromIg,
  newDealReference,
  opposite,
  positionFromIg,
  transactionFromIg,
  type ActivityRecord,
  type DealConfirmation,
  type IgOpenPosition,
  type MarketRules,
  type TransactionRecord,
} from './mapper.js';
import {
  activitiesSchema,
  confirmSchema,
  dealReferenceSchema,
  errorBodySchema,
  marketSchema,
  parseIg,
  positionSchema,
  positionsSchema,
  sessionHeadersSchema,
  sessionV2Schema,
  transactionsSchema,
} from './schemas.js';

export const IG_REST_URLS = {
  demo: 'https://demo-api.ig.com/gateway/deal',
  live: 'https://api.ig.com/gateway/deal',
} as const;

export type IgLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type IgLog = (level: IgLogLevel, message: string) => void;

export interface IgRestClientOptions {
  credentials: IgCredentials;
  environment?: 'demo' | 'live';
  /** Overrides the environment's base URL (tests, proxies). */
  restUrl?: string | undefined;
  limiter?: RateLimiter;
  /** Per-request timeout [10 s]. */
  timeoutMs?: number;
  retry?: {
    /** Attempts of a read, the first included [3]. */
    tries?: number;
    /** First backoff; doubles each time [250 ms]. */
    baseDelayMs?: number;
    /** Cap on any one wait, also on IG's retryAfterMs [60 s]. */
    maxDelayMs?: number;
  };
  settle?: {
    /** GET /confirms attempts after a deal [6], spaced by confirmDelayMs [250 ms]. */
    confirmTries?: number;
    confirmDelayMs?: number;
    /** Position / activity look-ups when confirms cannot tell [3], spaced by lookupDelayMs [500 ms]. */
    lookupTries?: number;
    lookupDelayMs?: number;
  };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: IgLog;
}

/** The session a login gives. Holds secrets: never log or serialise it. */
export interface IgSession {
  accountId: string;
  lightstreamerEndpoint: string;
  cst: string;
  securityToken: string;
}

export interface OpenPositionRequest {
  epic: string;
  direction: Direction;
  size: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  /** Defaults to the instrument's default currency (GET /markets). */
  currencyCode?: string | undefined;
  /** "-" for CFDs, "DFB" for spread bets; defaults to the instrument's expiry. */
  expiry?: string | undefined;
  /** Our reference for the deal; generated when absent. Must match [A-Za-z0-9_-]{1,30}. */
  dealReference?: string | undefined;
}

export interface AmendPositionRequest {
  /** Both levels are sent: an absent one is removed by IG. */
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
}

export interface ClosePositionRequest {
  dealId: string;
  /** Direction of the POSITION; the client sends the opposite. */
  direction: Direction;
  size: number;
}

export type AmendOutcome = CoalescedOutcome<DealConfirmation>;

/**
 * IG refused the deal request itself (an HTTP 4xx with IG's own error code, `error.…`): the deal
 * was not made.
 * Thrown only for the deal's own request, never for a read made to settle it afterwards.
 */
export class IgDealRefused extends BrokerRejected {
  /**
   * @param explanation what happened and what to do, for refusals whose code alone says too
   *   little (an allowance used up, a login refused).
   */
  constructor(
    message: string,
    code: string | undefined,
    readonly explanation?: string,
  ) {
    super(message, code);
  }
}

/** IG answered the deal with dealStatus REJECTED. */
export class IgDealRejected extends BrokerRejected {
  constructor(
    message: string,
    readonly confirm: DealConfirmation,
  ) {
    super(message, confirm.reason ?? 'REJECTED');
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RequestSpec {
  method: Method;
  path: string;
  version: number;
  kind: RequestKind;
  /** A trading request's lane in the limiter [deal]. */
  lane?: TradingLane;
  /** Its slot was taken already (an amend waits for it before its level is final). */
  slotTaken?: boolean;
  body?: unknown;
  params?: Record<string, string | number | boolean | undefined>;
  /** Default true: send CST / X-SECURITY-TOKEN (logging in first if needed). */
  auth?: boolean;
  /** Extra, non-secret headers. */
  headers?: Record<string, string>;
  /** Statuses returned to the caller instead of thrown (e.g. 404 of a look-up). */
  allow?: readonly number[];
  /** For messages: what the request is about. Never secret. */
  label?: string;
}

interface Answer {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
}

const ALLOWANCE_PREFIX = 'error.public-api.exceeded-';
const TRADING_ALLOWANCE = 'error.public-api.exceeded-account-trading-allowance';
const HISTORICAL_ALLOWANCE = 'error.public-api.exceeded-account-historical-data-allowance';
/** Allowances that reset later than this are reported at once, not retried. */
const LONGEST_WAIT_MS = 60 * 60_000;
/** Code of BrokerUnavailable when IG refuses a session right after logging in anew. */
export const SESSION_REFUSED = 'ig.session-refused';

function isAllowanceError(err: unknown): err is BrokerUnavailable {
  return err instanceof BrokerUnavailable && typeof err.code === 'string' && err.code.startsWith(ALLOWANCE_PREFIX);
}

function labelOf(spec: RequestSpec): string {
  return spec.label ?? `${spec.method} ${spec.path}`;
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 100) / 10} s`;
}

/** The WARN said when deals or amends start waiting for an allowance (once per episode). */
export function waitMessage(wait: LimiterWait): string {
  const what = wait.lane === 'amend' ? 'stop amends' : wait.lane === 'deal' ? 'deals (opens, closes)' : 'reads';
  if (wait.paused) return `${what} wait ${seconds(wait.waitMs)}: IG said its allowance is used up`;
  const window = `${wait.used} in the last ${seconds(wait.windowMs)}, ${wait.max} allowed`;
  if (wait.lane === 'amend') {
    return `${what} wait ${seconds(wait.waitMs)} for IG's trading allowance (${window}; the rest is kept for closes and opens): only each position's latest level will be sent`;
  }
  return `${what} wait ${seconds(wait.waitMs)} for IG's trading allowance (${window})`;
}

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** Stream confirms kept for deals whose REST answer has not come yet. */
const STREAM_CONFIRMS_KEPT = 64;

export class IgRestClient {
  readonly baseUrl: string;
  readonly #environment: 'demo' | 'live';
  readonly #credentials: IgCredentials;
  readonly #http: AxiosInstance;
  readonly #limiter: RateLimiter;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #log: IgLog | undefined;
  readonly #tries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #confirmTries: number;
  readonly #confirmDelayMs: number;
  readonly #lookupTries: number;
  readonly #lookupDelayMs: number;
  /** Every secret seen, tokens of past sessions included: all are scrubbed from messages. */
  readonly #secrets = new Set<string>();
  readonly #markets = new Map<string, MarketRules>();
  readonly #amends: StopAmendCoalescer<AmendPositionRequest, DealConfirmation>;
  #session: IgSession | undefined;
  /** Bumped by each login, so that concurrent 401s share one new login. */
  #generation = 0;
  #loginInFlight: Promise<IgSession> | undefined;
  #dealsInFlight = 0;
  /**
   * Deal confirmations from the stream's CONFIRMS (`offerConfirm`): while the stream is up
   * (`streamConfirmMs` > 0) a deal waits that long for its confirm there before reading
   * GET /confirms, which counts against the 30 reads a minute a fast trailing stop's amends would
   * otherwise use up (and a stop fill then waits for the next read).
   */
  #streamConfirmMs = 0;
  readonly #streamConfirms = new Map<string, DealConfirmation>();
  readonly #confirmWaiters = new Map<string, (confirm: DealConfirmation) => void>();

  constructor(options: IgRestClientOptions) {
    this.#credentials = options.credentials;
    for (const s of secretsOf(options.credentials)) this.#secrets.add(s);
    this.baseUrl = (options.restUrl ?? IG_REST_URLS[options.environment ?? 'demo']).replace(/\/+$/, '');
    this.#environment = options.environment ?? 'demo';
    this.#http = axios.create({
      baseURL: this.baseUrl,
      timeout: options.timeoutMs ?? 10_000,
      // every status comes back as an answer: a thrown axios error would carry our headers
      validateStatus: () => true,
      // no redirects: a redirect would resend the API key and tokens to another host
      maxRedirects: 0,
    });
    this.#limiter = options.limiter ?? new RateLimiter();
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#log = options.log;
    this.#tries = Math.max(1, options.retry?.tries ?? 3);
    this.#baseDelayMs = options.retry?.baseDelayMs ?? 250;
    this.#maxDelayMs = options.retry?.maxDelayMs ?? 60_000;
    this.#confirmTries = Math.max(1, options.settle?.confirmTries ?? 6);
    this.#confirmDelayMs = options.settle?.confirmDelayMs ?? 250;
    this.#lookupTries = Math.max(1, options.settle?.lookupTries ?? 3);
    this.#lookupDelayMs = options.settle?.lookupDelayMs ?? 500;
    this.#amends = new StopAmendCoalescer(
      (dealId, req) => this.#amendOnce(dealId, req),
      () => this.#limiter.acquire('trading', 'amend'),
    );
    this.#limiter.onWait = (wait) => this.#log?.(wait.lane === 'read' ? 'debug' : 'warn', waitMessage(wait));
  }

  /** The current session, if logged in. Holds secrets. */
  get session(): IgSession | undefined {
    return this.#session ? { ...this.#session } : undefined;
  }

  /** Deals and amends not yet settled. */
  get pendingDeals(): number {
    return this.#dealsInFlight + this.#amends.inFlight;
  }

  /** `redact()` with every secret this client knows. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  // ============================================================ session

  /** POST /session (v2); switches to credentials.accountId when it is not the default account. */
  login(): Promise<IgSession> {
    if (!this.#loginInFlight) {
      this.#loginInFlight = this.#guard(this.#login()).finally(() => {
        this.#loginInFlight = undefined;
      });
    }
    return this.#loginInFlight;
  }

  async #login(): Promise<IgSession> {
    const { identifier, password, accountId } = this.#credentials;
    const answer = await this.#retrying(() =>
      this.#send({
        method: 'POST',
        path: '/session',
        version: 2,
        kind: 'nonTrading',
        auth: false,
        body: { identifier, password, encryptedPassword: false },
      }),
    );
    const body = parseIg(sessionV2Schema, answer.data, 'POST /session');
    const tokens = parseIg(sessionHeadersSchema, answer.headers, 'POST /session (CST / X-SECURITY-TOKEN headers)');
    const session: IgSession = {
      accountId: body.currentAccountId,
      lightstreamerEndpoint: body.lightstreamerEndpoint,
      cst: tokens.cst,
      securityToken: tokens['x-security-token'],
    };
    this.#secrets.add(session.cst).add(session.securityToken);
    if (accountId !== undefined && accountId !== session.accountId) {
      // PUT /session (v1) switches the active account; IG answers with a new account token
      const switched = await this.#send(
        { method: 'PUT', path: '/session', version: 1, kind: 'nonTrading', body: { accountId, defaultAccount: false } },
        session,
      );
      const xst = switched.headers['x-security-token'];
      if (typeof xst === 'string' && xst !== '') {
        session.securityToken = xst;
        this.#secrets.add(xst);
      }
      session.accountId = accountId;
    }
    this.#session = session;
    this.#generation += 1;
    this.#log?.('info', `logged in to IG ${this.#environment} (${this.baseUrl}) as account ${session.accountId}`);
    return { ...session };
  }

  // ============================================================ reads

  async getPositions(): Promise<IgOpenPosition[]> {
    return this.#guard(
      (async () => {
        const answer = await this.#read({ method: 'GET', path: '/positions', version: 2, kind: 'nonTrading' });
        return parseIg(positionsSchema, answer.data, 'GET /positions').positions.map(positionFromIg);
      })(),
    );
  }

  /** undefined when IG has no open position with this deal id. */
  async getPosition(dealId: string): Promise<IgOpenPosition | undefined> {
    return this.#guard(
      (async () => {
        const path = `/positions/${encodeURIComponent(dealId)}`;
        const answer = await this.#read({ method: 'GET', path, version: 2, kind: 'nonTrading', allow: [404] });
        if (answer.status === 404) return undefined;
        return positionFromIg(parseIg(positionSchema, answer.data, `GET ${path}`));
      })(),
    );
  }

  /** GET /markets/{epic} (v3): decimals, minimum stop distance, scaling, currency, expiry. */
  async getMarket(epic: string): Promise<MarketRules> {
    return this.#guard(
      (async () => {
        const path = `/markets/${encodeURIComponent(epic)}`;
        const answer = await this.#read({ method: 'GET', path, version: 3, kind: 'nonTrading' });
        const rules = marketRulesFromIg(parseIg(marketSchema, answer.data, `GET ${path}`));
        this.#markets.set(epic, rules);
        return rules;
      })(),
    );
  }

  /**
   * How long a deal waits for its confirm on the stream before asking GET /confirms: 0 (the
   * default, and while the stream is down) asks at once.
   */
  set streamConfirmMs(ms: number) {
    this.#streamConfirmMs = Math.max(0, ms);
  }

  /** A CONFIRMS from the trade stream: settles the deal waiting for it, or is kept for it a while. */
  offerConfirm(confirm: DealConfirmation): void {
    const waiter = this.#confirmWaiters.get(confirm.dealReference);
    if (waiter !== undefined) {
      this.#confirmWaiters.delete(confirm.dealReference);
      waiter({ ...confirm, settledBy: 'confirm' });
      return;
    }
    // It may come before the deal's own answer (which names the reference): kept, the newest 64.
    this.#streamConfirms.set(confirm.dealReference, { ...confirm, settledBy: 'confirm' });
    if (this.#streamConfirms.size > STREAM_CONFIRMS_KEPT) {
      const oldest = this.#streamConfirms.keys().next().value;
      if (oldest !== undefined) this.#streamConfirms.delete(oldest);
    }
  }

  /** The stream's confirm of a deal: at once if it came already, else within streamConfirmMs. */
  #confirmFromStream(dealReference: string): Promise<DealConfirmation | undefined> {
    const early = this.#streamConfirms.get(dealReference);
    if (early !== undefined) {
      this.#streamConfirms.delete(dealReference);
      return Promise.resolve(early);
    }
    const ms = this.#streamConfirmMs;
    if (ms <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#confirmWaiters.delete(dealReference);
        resolve(undefined);
      }, ms);
      this.#confirmWaiters.set(dealReference, (confirm) => {
        clearTimeout(timer);
        resolve(confirm);
      });
    });
  }

  /** GET /confirms/{dealReference}; undefined when IG knows no such deal (yet). */
  async getConfirm(dealReference: string): Promise<DealConfirmation | undefined> {
    return this.#guard(this.#getConfirm(dealReference));
  }

  async #getConfirm(dealReference: string): Promise<DealConfirmation | undefined> {
    const path = `/confirms/${encodeURIComponent(dealReference)}`;
    const answer = await this.#read({ method: 'GET', path, version: 1, kind: 'nonTrading', allow: [404] });
    if (answer.status === 404) return undefined;
    return confirmFromIg(parseIg(confirmSchema, answer.data, `GET ${path}`));
  }

  /** GET /history/transactions (v2), all pages (at most 20), deals only. Times are epoch ms. */
  async getTransactions(range: { from: number; to: number; type?: string }): Promise<TransactionRecord[]> {
    return this.#guard(
      (async () => {
        const out: TransactionRecord[] = [];
        for (let page = 1; page <= 20; page++) {
          const answer = await this.#read({
            method: 'GET',
            path: '/history/transactions',
            version: 2,
            kind: 'nonTrading',
            params: {
              type: range.type ?? 'ALL_DEAL',
              from: formatIgTime(range.from),
              to: formatIgTime(range.to),
              pageSize: 50,
              pageNumber: page,
            },
          });
          const body = parseIg(transactionsSchema, answer.data, 'GET /history/transactions');
          out.push(...body.transactions.map(transactionFromIg));
          const totalPages = body.metadata?.pageData?.totalPages ?? 1;
          if (page >= totalPages || body.transactions.length === 0) break;
        }
        return out;
      })(),
    );
  }

  /** GET /history/activity (v3, detailed), following `metadata.paging.next` (at most 20 pages). */
  async getActivity(range: { from: number; to: number; dealId?: string | undefined }): Promise<ActivityRecord[]> {
    return this.#guard(this.#getActivity(range));
  }

  async #getActivity(range: { from: number; to: number; dealId?: string | undefined }): Promise<ActivityRecord[]> {
    const out: ActivityRecord[] = [];
    let path = '/history/activity';
    let params: RequestSpec['params'] = {
      from: formatIgTime(range.from),
      to: formatIgTime(range.to),
      detailed: true,
      pageSize: 500,
      ...(range.dealId !== undefined ? { dealId: range.dealId } : {}),
    };
    for (let page = 0; page < 20; page++) {
      const answer = await this.#read({
        method: 'GET',
        path,
        version: 3,
        kind: 'nonTrading',
        label: 'GET /history/activity',
        ...(params !== undefined ? { params } : {}),
      });
      const body = parseIg(activitiesSchema, answer.data, 'GET /history/activity');
      out.push(...body.activities.map(activityFromIg));
      const next = body.metadata?.paging?.next;
      if (!next || body.activities.length === 0) break;
      // `next` is a path relative to the gateway, query included
      path = next.startsWith('/') ? next : `/${next}`;
      params = undefined;
    }
    return out;
  }

  // ============================================================ deals

  /** POST /positions/otc (v2), a MARKET order. Resolves with the ACCEPTED confirm; REJECTED → IgDealRejected. */
  async openPosition(request: OpenPositionRequest): Promise<DealConfirmation> {
    return this.#guard(this.#counted(this.#open(request)));
  }

  async #open(request: OpenPositionRequest): Promise<DealConfirmation> {
    const dealReference = request.dealReference ?? newDealReference();
    if (!DEAL_REFERENCE_PATTERN.test(dealReference)) {
      throw new InvariantError(
        `dealReference ${JSON.stringify(dealReference)} does not match IG's [A-Za-z0-9_-]{1,30}`,
      );
    }
    const defaults = await this.#dealDefaults(request);
    const body = {
      epic: request.epic,
      expiry: defaults.expiry,
      direction: request.direction,
      size: request.size,
      orderType: 'MARKET',
      guaranteedStop: false,
      // forceOpen: a new position even against an open one in the other direction (positions stack)
      forceOpen: true,
      currencyCode: defaults.currencyCode,
      dealReference,
      ...(request.stopLevel !== undefined ? { stopLevel: request.stopLevel } : {}),
      ...(request.limitLevel !== undefined ? { limitLevel: request.limitLevel } : {}),
    };
    const what = `open ${request.direction} ${request.size} ${request.epic} (ref ${dealReference})`;
    const confirm = await this.#deal(
      {
        method: 'POST',
        path: '/positions/otc',
        version: 2,
        kind: 'trading',
        body,
        label: `POST /positions/otc: ${what}`,
      },
      dealReference,
      () => this.#settleOpen(dealReference, what),
    );
    return this.#accepted(confirm, what);
  }

  /**
   * PUT /positions/otc/{dealId} (v2). Amends of one deal are coalesced: while one is in flight,
   * only the latest of those that arrive meanwhile is sent; the others resolve `superseded`.
   */
  async amendPosition(dealId: string, request: AmendPositionRequest, onSent?: () => void): Promise<AmendOutcome> {
    return this.#guard(this.#amends.submit(dealId, request, onSent));
  }

  /**
   * Takes back the deal's amend that has not left the process yet (it waits for its trading slot,
   * or behind the deal's amend on the wire): its `amendPosition` resolves `withdrawn`. False when
   * there is none.
   */
  withdrawAmend(dealId: string): boolean {
    return this.#amends.withdraw(dealId);
  }

  async #amendOnce(dealId: string, request: AmendPositionRequest): Promise<DealConfirmation> {
    const path = `/positions/otc/${encodeURIComponent(dealId)}`;
    const what = `amend ${dealId} stop ${request.stopLevel ?? 'none'} limit ${request.limitLevel ?? 'none'}`;
    const body = {
      stopLevel: request.stopLevel ?? null,
      limitLevel: request.limitLevel ?? null,
      guaranteedStop: false,
      trailingStop: false,
    };
    const confirm = await this.#deal(
      {
        method: 'PUT',
        path,
        version: 2,
        kind: 'trading',
        lane: 'amend',
        slotTaken: true,
        body,
        label: `PUT ${path}: ${what}`,
      },
      undefined,
      () => this.#settleAmend(dealId, request, what),
    );
    return this.#accepted(confirm, what);
  }

  /** Closes `size` of a position at market (DELETE /positions/otc v1, direction opposite to the position's). */
  async closePosition(request: ClosePositionRequest): Promise<DealConfirmation> {
    return this.#guard(this.#counted(this.#close(request)));
  }

  async #close(request: ClosePositionRequest): Promise<DealConfirmation> {
    const what = `close ${request.size} of ${request.dealId}`;
    const body = {
      dealId: request.dealId,
      direction: opposite(request.direction),
      size: request.size,
      orderType: 'MARKET',
    };
    const sentAt = this.#now();
    const confirm = await this.#deal(
      {
        // IG's FAQ: DELETE with a body is refused by some HTTP stacks; POST with `_method: DELETE` is the documented workaround
        method: 'POST',
        path: '/positions/otc',
        version: 1,
        kind: 'trading',
        body,
        headers: { _method: 'DELETE' },
        label: `DELETE /positions/otc: ${what}`,
      },
      undefined,
      () => this.#settleClose(request, sentAt, what),
    );
    return this.#accepted(confirm, what);
  }

  #accepted(confirm: DealConfirmation, what: string): DealConfirmation {
    if (confirm.dealStatus === 'REJECTED') {
      throw new IgDealRejected(`IG rejected the ${what}: ${confirm.reason ?? 'no reason given'}`, confirm);
    }
    return confirm;
  }

  /**
   * Sends a deal once. Refusals (4xx, bad credentials, allowance, a 401 twice) are thrown: IG did
   * not execute the deal. An unknown outcome is settled by `settle`, never by sending again.
   */
  async #deal(
    spec: RequestSpec,
    ownReference: string | undefined,
    settle: () => Promise<DealConfirmation>,
  ): Promise<DealConfirmation> {
    const label = labelOf(spec);
    let answer: Answer;
    try {
      answer = await this.#authed(spec);
    } catch (err) {
      const refused = err instanceof BrokerUnavailable && err.code === SESSION_REFUSED;
      // IG's own error code says it refused the deal; a bare 4xx (from a proxy, say) does not.
      if (err instanceof BrokerRejected && err.code?.startsWith('error.') === true && !(err instanceof IgDealRefused))
        throw new IgDealRefused(err.message, err.code);
      // A 403 allowance answer, a refused login or a session refused right after a new one: IG did
      // not execute the deal, so this is a refusal with a known outcome, not an unknown one.
      if (isAllowanceError(err)) {
        const wait = Math.ceil(Math.min(err.retryAfterMs ?? 60_000, this.#maxDelayMs) / 1000);
        throw new IgDealRefused(
          err.message,
          err.code,
          `IG refused it, nothing was executed: ${err.message}; trailguard sends no deal for ${wait} s. If this recurs, another program may be using this IG account or API key`,
        );
      }
      if (err instanceof UserError) {
        throw new IgDealRefused(
          err.message,
          'ig.login-refused',
          `IG refused the login, nothing was executed: ${err.message}. ${err.hint ?? ''}`.trim(),
        );
      }
      if (refused) {
        throw new IgDealRefused(
          err.message,
          SESSION_REFUSED,
          `IG refused the session, nothing was executed: ${err.message}`,
        );
      }
      if (err instanceof BrokerRejected || err instanceof IgSessionExpired) throw err;
      if (!(err instanceof BrokerUnavailable)) throw err;
      this.#log?.('warn', `${label}: outcome unknown (${err.code ?? 'error'}); settling with IG, not re-sending`);
      return settle();
    }
    let reference = ownReference;
    const parsed = dealReferenceSchema.safeParse(answer.data);
    if (parsed.success) reference = parsed.data.dealReference;
    else if (reference === undefined) {
      this.#log?.('warn', `${label}: answer without a dealReference; settling with IG`);
      return settle();
    }
    const confirm = await this.#pollConfirm(reference);
    return confirm ?? settle();
  }

  /** GET /confirms until IG knows the deal (bounded). Read failures count as "not yet". */
  async #pollConfirm(dealReference: string): Promise<DealConfirmation | undefined> {
    const streamed = await this.#confirmFromStream(dealReference);
    if (streamed !== undefined) return streamed;
    for (let i = 0; i < this.#confirmTries; i++) {
      if (i > 0) await this.#sleep(this.#confirmDelayMs);
      try {
        const confirm = await this.#getConfirm(dealReference);
        if (confirm) return confirm;
      } catch (err) {
        if (!(err instanceof BrokerUnavailable)) throw err;
        this.#log?.('warn', `GET /confirms/${dealReference} failed (${err.code ?? 'error'}); will ask again`);
      }
    }
    return undefined;
  }

  #unknown(what: string, detail: string): BrokerUnavailable {
    return new BrokerUnavailable(
      `${what}: outcome unknown — ${detail}; the deal was NOT re-sent`,
      DEAL_OUTCOME_UNKNOWN,
    );
  }

  /** Open: our own reference finds it in /confirms, else on the position list. */
  async #settleOpen(dealReference: string, what: string): Promise<DealConfirmation> {
    const confirm = await this.#pollConfirm(dealReference);
    if (confirm) return { ...confirm, settledBy: 'confirm' };
    for (let i = 0; i < this.#lookupTries; i++) {
      if (i > 0) await this.#sleep(this.#lookupDelayMs);
      let positions: IgOpenPosition[];
      try {
        positions = await this.#positionsRaw();
      } catch (err) {
        if (err instanceof BrokerUnavailable) continue;
        throw err;
      }
      const found = positions.find((p) => p.dealReference === dealReference);
      if (found) {
        return {
          dealReference,
          dealId: found.dealId,
          dealStatus: 'ACCEPTED',
          status: 'OPEN',
          reason: 'SUCCESS',
          market: found.market,
          direction: found.direction,
          level: found.level,
          size: found.size,
          stopLevel: found.stopLevel,
          limitLevel: found.limitLevel,
          time: found.openedAt,
          affectedDeals: [{ dealId: found.dealId, status: 'OPENED' }],
          settledBy: 'positions',
        };
      }
    }
    throw this.#unknown(what, `IG has no confirm for reference ${dealReference} and no open position with it`);
  }

  /** Amend: the position's levels tell whether it took effect. */
  async #settleAmend(dealId: string, request: AmendPositionRequest, what: string): Promise<DealConfirmation> {
    let read: IgOpenPosition | undefined;
    for (let i = 0; i < this.#lookupTries; i++) {
      if (i > 0) await this.#sleep(this.#lookupDelayMs);
      let position: IgOpenPosition | undefined;
      try {
        position = await this.#positionRaw(dealId);
      } catch (err) {
        if (err instanceof BrokerUnavailable) continue;
        throw err;
      }
      read = position;
      if (!position) throw this.#unknown(what, `position ${dealId} is no longer open`);
      if (position.stopLevel === request.stopLevel && position.limitLevel === request.limitLevel) {
        return {
          dealReference: '',
          dealId,
          dealStatus: 'ACCEPTED',
          status: 'AMENDED',
          reason: 'SUCCESS',
          market: position.market,
          direction: position.direction,
          level: position.level,
          size: position.size,
          stopLevel: position.stopLevel,
          limitLevel: position.limitLevel,
          time: this.#now(),
          affectedDeals: [{ dealId, status: 'AMENDED' }],
          settledBy: 'positions',
        };
      }
    }
    // Said only when IG was read: with every read failed, nobody knows what IG did with it.
    throw this.#unknown(
      what,
      read === undefined
        ? `its state could not be read (GET /positions/${dealId} failed ${this.#lookupTries} times)`
        : `position ${dealId} does not show the requested levels (IG shows stop ${read.stopLevel ?? 'none'}, limit ${read.limitLevel ?? 'none'})`,
    );
  }

  /**
   * Close: the account activity records the close and its level (the close carries no reference of
   * ours). The activity's own dealId is the closing deal's, so the match is on the action's
   * `affectedDealId`, not on IG's dealId filter.
   */
  async #settleClose(request: ClosePositionRequest, sentAt: number, what: string): Promise<DealConfirmation> {
    // IG's clock and ours differ: look five minutes back; the latest close of the deal wins.
    const from = sentAt - 5 * 60_000;
    for (let i = 0; i < this.#lookupTries; i++) {
      if (i > 0) await this.#sleep(this.#lookupDelayMs);
      let activities: ActivityRecord[];
      try {
        activities = await this.#getActivity({ from, to: this.#now() + 5 * 60_000 });
      } catch (err) {
        if (err instanceof BrokerUnavailable) continue;
        throw err;
      }
      const closing = activities
        .filter(
          (a) =>
            a.status === 'ACCEPTED' &&
            a.level !== undefined &&
            a.actions.some(
              (x) =>
                (x.actionType === 'POSITION_CLOSED' || x.actionType === 'POSITION_PARTIALLY_CLOSED') &&
                x.affectedDealId === request.dealId,
            ),
        )
        .sort((a, b) => b.time - a.time)[0];
      if (closing && closing.level !== undefined) {
        const fully = closing.actions.some((x) => x.actionType === 'POSITION_CLOSED');
        return {
          dealReference: closing.dealReference ?? '',
          dealId: closing.dealId,
          dealStatus: 'ACCEPTED',
          status: fully ? 'CLOSED' : 'PARTIALLY_CLOSED',
          reason: 'SUCCESS',
          market: closing.market,
          direction: closing.direction,
          level: closing.level,
          size: closing.size !== undefined ? Math.abs(closing.size) : request.size,
          time: closing.time,
          affectedDeals: [{ dealId: request.dealId, status: fully ? 'FULLY_CLOSED' : 'PARTIALLY_CLOSED' }],
          settledBy: 'activity',
        };
      }
    }
    let state = 'its state could not be read';
    try {
      const position = await this.#positionRaw(request.dealId);
      state = position
        ? `position ${request.dealId} is open with size ${position.size}`
        : `position ${request.dealId} is no longer open`;
    } catch (err) {
      if (!(err instanceof BrokerUnavailable)) throw err;
    }
    throw this.#unknown(what, `IG's activity shows no close of ${request.dealId}; ${state}`);
  }

  async #positionsRaw(): Promise<IgOpenPosition[]> {
    const answer = await this.#read({ method: 'GET', path: '/positions', version: 2, kind: 'nonTrading' });
    return parseIg(positionsSchema, answer.data, 'GET /positions').positions.map(positionFromIg);
  }

  async #positionRaw(dealId: string): Promise<IgOpenPosition | undefined> {
    const path = `/positions/${encodeURIComponent(dealId)}`;
    const answer = await this.#read({ method: 'GET', path, version: 2, kind: 'nonTrading', allow: [404] });
    return answer.status === 404 ? undefined : positionFromIg(parseIg(positionSchema, answer.data, `GET ${path}`));
  }

  async #dealDefaults(request: OpenPositionRequest): Promise<{ expiry: string; currencyCode: string }> {
    if (request.expiry !== undefined && request.currencyCode !== undefined) {
      return { expiry: request.expiry, currencyCode: request.currencyCode };
    }
    const rules = this.#markets.get(request.epic) ?? (await this.getMarket(request.epic));
    const currencyCode = request.currencyCode ?? rules.currency;
    if (currencyCode === undefined) {
      throw new BrokerRejected(
        `IG lists no currency for ${request.epic}; cannot open a position there`,
        'ig.no-currency',
      );
    }
    return { expiry: request.expiry ?? rules.expiry ?? '-', currencyCode };
  }

  // ============================================================ plumbing

  async #counted<T>(work: Promise<T>): Promise<T> {
    this.#dealsInFlight += 1;
    try {
      return await work;
    } finally {
      this.#dealsInFlight -= 1;
    }
  }

  /** A read: retried while transient. */
  #read(spec: RequestSpec): Promise<Answer> {
    return this.#retrying(() => this.#authed(spec));
  }

  async #retrying(attempt: () => Promise<Answer>): Promise<Answer> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        // a session refused right after a new login is not retried: that would be a login loop
        const transient =
          err instanceof BrokerUnavailable && !(err instanceof IgSessionExpired) && err.code !== SESSION_REFUSED;
        if (!transient || n + 1 >= this.#tries) throw err;
        // an allowance that resets in hours or days (historical data: weekly) is not waited out
        if ((err.retryAfterMs ?? 0) > LONGEST_WAIT_MS) throw err;
        const delay = Math.min(this.#maxDelayMs, Math.max(this.#baseDelayMs * 2 ** n, err.retryAfterMs ?? 0));
        this.#log?.('debug', `${err.message}; retry ${n + 2}/${this.#tries} in ${delay} ms`);
        await this.#sleep(delay);
      }
    }
  }

  /** Sends with the session's tokens; on an expired token, one new login and one replay. */
  async #authed(spec: RequestSpec): Promise<Answer> {
    if (spec.auth === false) return this.#send(spec);
    const session = this.#session ?? (await this.login());
    const generation = this.#generation;
    try {
      return await this.#send(spec, session);
    } catch (err) {
      if (!(err instanceof IgSessionExpired)) throw err;
      this.#log?.('info', `${labelOf(spec)}: IG session expired (${err.code ?? ''}); logging in again`);
      // a concurrent request may have logged in already: reuse its session
      const fresh = this.#generation !== generation && this.#session ? this.#session : await this.login();
      try {
        return await this.#send({ ...spec, slotTaken: false }, fresh);
      } catch (again) {
        if (again instanceof IgSessionExpired) {
          throw new BrokerUnavailable(
            `${labelOf(spec)}: IG refused the session right after a new login (${again.code ?? ''})`,
            SESSION_REFUSED,
          );
        }
        throw again;
      }
    }
  }

  /** The end of a session (live stopped): requests still waiting for the limiter are not sent. */
  close(): void {
    this.#limiter.close();
  }

  /** One HTTP exchange through the limiter. Non-allowed statuses ≥ 400 are thrown as taxonomy errors. */
  async #send(spec: RequestSpec, session?: IgSession): Promise<Answer> {
    const label = labelOf(spec);
    if (spec.slotTaken !== true) await this.#limiter.acquire(spec.kind, spec.lane);
    const headers: Record<string, string> = {
      'X-IG-API-KEY': this.#credentials.apiKey,
      Version: String(spec.version),
      'Content-Type': 'application/json; charset=UTF-8',
      Accept: 'application/json; charset=UTF-8',
      ...spec.headers,
    };
    if (session) {
      headers['CST'] = session.cst;
      headers['X-SECURITY-TOKEN'] = session.securityToken;
    }
    const started = this.#now();
    let response: AxiosResponse<unknown>;
    try {
      response = await this.#http.request<unknown>({
        method: spec.method,
        url: spec.path,
        headers,
        ...(spec.params !== undefined ? { params: spec.params } : {}),
        ...(spec.body !== undefined ? { data: spec.body } : {}),
      });
    } catch (err) {
      // Only the code survives: the axios error holds config.headers (API key, tokens) and the
      // login body (password). It is dropped here, not wrapped, not logged.
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
      this.#log?.('warn', `${label}: no answer (${code ?? 'network error'})`);
      throw classifyIgFailure({ request: label, networkCode: code, baseUrl: this.baseUrl });
    }
    const status = response.status;
    this.#log?.('debug', `${label} → ${status} in ${this.#now() - started} ms`);
    const answer: Answer = {
      status,
      data: response.data,
      headers: { ...(response.headers as Record<string, unknown>) },
    };
    if (status < 400 || spec.allow?.includes(status)) {
      if (status >= 300 && status < 400) throw classifyIgFailure({ request: label, status });
      return answer;
    }
    const body = errorBodySchema.safeParse(response.data);
    const failure = classifyIgFailure({
      request: label,
      status,
      errorCode: body.success ? body.data.errorCode : undefined,
      retryAfterMs: parseRetryAfter(answer.headers['retry-after']),
    });
    this.#pauseFor(failure);
    throw failure;
  }

  /**
   * IG said an allowance is used up: nothing it counts goes out until it resets (hammering it
   * only prolongs it). The trading allowance holds deals back, the others every request; the
   * weekly price-history allowance concerns no request this client makes while running.
   */
  #pauseFor(failure: Error): void {
    if (!isAllowanceError(failure) || failure.code === HISTORICAL_ALLOWANCE) return;
    const ms = Math.min(failure.retryAfterMs ?? 60_000, this.#maxDelayMs);
    this.#limiter.pause(ms, failure.code === TRADING_ALLOWANCE ? 'trading' : 'all');
  }

  /** Last line of defence for secrets: every error leaving a public method is scrubbed. */
  async #guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw this.#scrub(err);
    }
  }

  #scrub(err: unknown): unknown {
    if (axios.isAxiosError(err)) {
      // should not happen (see #send), but never let one through
      return new BrokerUnavailable(`IG request failed (${err.code ?? 'network error'})`, err.code);
    }
    if (err instanceof Error) {
      err.message = this.redact(err.message);
      if (err.stack !== undefined) err.stack = this.redact(err.stack);
      if (err instanceof UserError && err.hint !== undefined) {
        (err as { hint?: string }).hint = this.redact(err.hint);
      }
      return err;
    }
    return new BrokerUnavailable(this.redact(`IG request failed: ${String(err)}`));
  }
}
