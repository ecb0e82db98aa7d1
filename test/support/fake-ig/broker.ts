/**
 * The fake IG account: markets, positions, deals, confirms and history. Knows nothing about HTTP
 * or Lightstreamer: the REST layer calls it, and it reports stream events to a sink.
 *
 * Deal rules follow SPEC §3 step 1 (broker-side fills) and IG's documented behaviour; sources
 * are listed in wire.ts. Decisions not backed by a source are marked GUESS.
 */
import {
  ACTIVITY_CHANNEL,
  CHANNEL,
  type Direction,
  type IgActivity,
  type IgConfirm,
  type IgOpu,
  type IgTransaction,
  igLocalDateTime,
  isoUtcMs,
  isoUtcSec,
  levelString,
  moneyString,
  opposite,
  roundTo,
  shortRef,
  signedSize,
  timeOfDay,
} from './wire.js';

export interface FakeIgMarket {
  epic: string;
  bid: number;
  ask: number;
  /** Points; price distance = minStopDistance × pointSize. */
  minStopDistance: number;
  decimals: number;
  /** Price units per point [1]. */
  pointSize?: number;
  /** Account currency per point per unit of size, for `profit` in confirms and history [1]. */
  valuePerPoint?: number;
  /** `instrumentName` / `marketName` [the epic]. */
  instrumentName?: string;
}

export interface FakeIgPosition {
  dealId: string;
  dealReference: string;
  epic: string;
  direction: Direction;
  size: number;
  level: number;
  stopLevel: number | null;
  limitLevel: number | null;
  /** Epoch ms of the open. */
  createdAt: number;
  currency: string;
}

/** One deal on the fake account, in plain numbers (tests compare journals with it). */
export interface FakeIgDeal {
  kind: 'open' | 'close';
  /** The position's deal id (for a close, the position it reduced). */
  dealId: string;
  epic: string;
  dealReference: string;
  size: number;
  level: number;
  time: number;
}

export interface MarketState {
  epic: string;
  bid: number;
  ask: number;
  minStopDistance: number;
  decimals: number;
  pointSize: number;
  valuePerPoint: number;
  instrumentName: string;
  high: number;
  low: number;
  /** Mid of the first price seen: the day's open for netChange. */
  open: number;
  updatedAt: number;
}

/** An error answered as IG does: HTTP status and `{errorCode}`. */
export class IgHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
  ) {
    super(`${status} ${errorCode}`);
  }
}

export type TradeField = 'CONFIRMS' | 'OPU' | 'WOU';

export interface BrokerSink {
  /** A tick of `epic` was applied: emit it on CHART:{epic}:TICK / MARKET:{epic}. */
  tick(market: MarketState, time: number): void;
  /** A JSON message for the TRADE:{accountId} item. */
  trade(field: TradeField, json: string): void;
}

const EPS = 1e-9;

/** Fields of POST /positions/otc v2 that matter here; the rest is validated loosely. */
interface OpenRequest {
  epic: string;
  direction: Direction;
  size: number;
  forceOpen: boolean;
  stopLevel: number | null;
  stopDistance: number | null;
  limitLevel: number | null;
  limitDistance: number | null;
  currencyCode: string;
  dealReference: string | null;
}

export class FakeIgBroker {
  readonly accountId: string;
  readonly currency: string;
  private readonly markets = new Map<string, MarketState>();
  private readonly open: FakeIgPosition[] = [];
  private readonly confirms = new Map<string, IgConfirm>();
  /** Request fingerprints by dealReference, to tell an identical resubmission from a conflicting one. */
  private readonly submitted = new Map<string, string>();
  private readonly activityLog: IgActivity[] = [];
  private readonly transactionLog: IgTransaction[] = [];
  private readonly dealLog: FakeIgDeal[] = [];
  private readonly outbox: { field: TradeField; json: string }[] = [];
  private dealCounter = 0;
  private refCounter = 0;
  /** Latest tick time pushed; the fake's clock once ticks flow (so broker times match tick times). */
  private marketClock: number | undefined;

  constructor(
    options: { accountId: string; currency: string; markets: FakeIgMarket[] },
    private readonly sink: BrokerSink,
  ) {
    this.accountId = options.accountId;
    this.currency = options.currency;
    const now = Date.now();
    for (const m of options.markets) {
      if (!(m.bid <= m.ask)) throw new Error(`fake IG: market ${m.epic} has bid > ask`);
      this.markets.set(m.epic, {
        epic: m.epic,
        bid: m.bid,
        ask: m.ask,
        minStopDistance: m.minStopDistance,
        decimals: m.decimals,
        pointSize: m.pointSize ?? 1,
        valuePerPoint: m.valuePerPoint ?? 1,
        instrumentName: m.instrumentName ?? m.epic,
        high: m.bid,
        low: m.bid,
        open: (m.bid + m.ask) / 2,
        updatedAt: now,
      });
    }
  }

  // ---------------------------------------------------------------- clock and ids

  /** Broker time: the latest pushed tick's time, or the wall clock before any tick. */
  now(): number {
    return this.marketClock ?? Date.now();
  }

  private nextDealId(): string {
    this.dealCounter += 1;
    return `DIAAAA${String(this.dealCounter).padStart(9, '0')}`;
  }

  private nextDealReference(): string {
    this.refCounter += 1;
    return `FAKEREF${String(this.refCounter).padStart(8, '0')}`;
  }

  // ---------------------------------------------------------------- reads

  market(epic: string): MarketState | undefined {
    return this.markets.get(epic);
  }

  positions(): FakeIgPosition[] {
    return this.open.map((p) => ({ ...p }));
  }

  position(dealId: string): FakeIgPosition | undefined {
    const p = this.open.find((x) => x.dealId === dealId);
    return p === undefined ? undefined : { ...p };
  }

  confirm(dealReference: string): IgConfirm | undefined {
    return this.confirms.get(dealReference);
  }

  activities(): IgActivity[] {
    return [...this.activityLog];
  }

  transactions(): IgTransaction[] {
    return [...this.transactionLog];
  }

  /** Every open and close made on the account so far, oldest first (copies). */
  deals(): FakeIgDeal[] {
    return this.dealLog.map((d) => ({ ...d }));
  }

  // ---------------------------------------------------------------- stream outbox

  private emit(field: TradeField, payload: object): void {
    this.outbox.push({ field, json: JSON.stringify(payload) });
  }

  /** Sends queued TRADE events. The REST layer calls it after writing its response. */
  flush(): void {
    const events = this.outbox.splice(0);
    for (const e of events) this.sink.trade(e.field, e.json);
  }

  // ---------------------------------------------------------------- prices

  pushTick(
    t: { epic: string; bid: number; ask: number; time: number },
    options: { fillFirst?: boolean; glitch?: boolean } = {},
  ): void {
    const m = this.markets.get(t.epic);
    if (m === undefined) throw new Error(`fake IG: pushTick for unknown epic ${t.epic}`);
    if (options.glitch === true) {
      // A bad price in the feed alone (crossed, non-positive, late): streamed as given; IG's own
      // prices, and so its fills, do not move.
      this.sink.tick({ ...m, bid: t.bid, ask: t.ask }, t.time);
      return;
    }
    if (!(t.bid <= t.ask)) throw new Error(`fake IG: crossed tick ${t.bid} > ${t.ask}`);
    m.bid = t.bid;
    m.ask = t.ask;
    m.high = Math.max(m.high, t.bid);
    m.low = Math.min(m.low, t.bid);
    m.updatedAt = t.time;
    this.marketClock = this.marketClock === undefined ? t.time : Math.max(this.marketClock, t.time);
    // IG may deliver the tick before the fill (SPEC §3.2): the tick goes out first, unless asked.
    if (options.fillFirst === true) this.fillBrokerOrders(m, t.time);
    this.sink.tick(m, t.time);
    if (options.fillFirst !== true) this.fillBrokerOrders(m, t.time);
    this.flush();
  }

  /** SPEC §3 step 1: stops first (at the tick's favourable price), then limits (at the limit). */
  private fillBrokerOrders(m: MarketState, time: number): void {
    for (const p of this.open.filter((x) => x.epic === m.epic)) {
      let fill: number | undefined;
      if (p.stopLevel !== null) {
        if (p.direction === 'BUY' && m.bid <= p.stopLevel + EPS) fill = m.bid;
        if (p.direction === 'SELL' && m.ask >= p.stopLevel - EPS) fill = m.ask;
      }
      if (fill === undefined && p.limitLevel !== null) {
        if (p.direction === 'BUY' && m.bid >= p.limitLevel - EPS) fill = p.limitLevel;
        if (p.direction === 'SELL' && m.ask <= p.limitLevel + EPS) fill = p.limitLevel;
      }
      if (fill !== undefined) {
        this.reduce(p, p.size, fill, time, {
          opuChannel: CHANNEL.orderServer,
          activityChannel: ACTIVITY_CHANNEL.system,
          closingDealReference: this.nextDealReference(),
        });
      }
    }
  }

  // ---------------------------------------------------------------- deals (REST)

  /** POST /positions/otc v2. Returns the dealReference; the outcome is in the confirm. */
  openPosition(body: Record<string, unknown>): string {
    const req = parseOpenRequest(body);
    const dealReference = req.dealReference ?? this.nextDealReference();
    const time = this.now();

    const fingerprint = JSON.stringify({ ...req, dealReference: null });
    const earlier = this.submitted.get(dealReference);
    if (earlier !== undefined) {
      // GUESS, from IG's documented reasons CONFLICTING_ORDER ("Resubmitted request does not match
      // the original order") and DUPLICATE_ORDER_ERROR: a resubmission with the same dealReference
      // makes no second deal. The first deal's confirm stays what GET /confirms answers.
      if (earlier !== fingerprint) {
        this.emit('CONFIRMS', {
          ...rejected(req.epic, dealReference, 'CONFLICTING_ORDER', time, req.direction, this.nextDealId()),
          channel: CHANNEL.rest,
        });
      }
      return dealReference;
    }
    const m = this.markets.get(req.epic);
    if (m === undefined) throw new IgHttpError(404, 'error.trading.otc.instrument-not-found');
    this.submitted.set(dealReference, fingerprint);

    const fill = req.direction === 'BUY' ? m.ask : m.bid;
    const sign = req.direction === 'BUY' ? 1 : -1;
    const stopLevel =
      req.stopLevel ??
      (req.stopDistance === null ? null : roundTo(fill - sign * req.stopDistance * m.pointSize, m.decimals));
    const limitLevel =
      req.limitLevel ??
      (req.limitDistance === null ? null : roundTo(fill + sign * req.limitDistance * m.pointSize, m.decimals));

    const reject = (reason: string): string => {
      const c = rejected(req.epic, dealReference, reason, time, req.direction, this.nextDealId());
      this.confirms.set(dealReference, c);
      this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
      return dealReference;
    };

    // Attached orders are measured from the fill level: a stop or limit on the wrong side, or
    // nearer than the minimum distance, rejects the whole deal (captured CONFIRMS:
    // dealStatus REJECTED, reason ATTACHED_ORDER_LEVEL_ERROR, affectedDeals []).
    if (stopLevel !== null && !farEnough(m, sign * (fill - stopLevel))) return reject('ATTACHED_ORDER_LEVEL_ERROR');
    if (limitLevel !== null && !farEnough(m, sign * (limitLevel - fill))) return reject('ATTACHED_ORDER_LEVEL_ERROR');

    const opposing = this.open.filter((p) => p.epic === req.epic && p.direction !== req.direction);
    if (!req.forceOpen && opposing.length > 0) {
      return this.netOff(req, dealReference, opposing, time);
    }

    const p: FakeIgPosition = {
      dealId: this.nextDealId(),
      dealReference,
      epic: req.epic,
      direction: req.direction,
      size: req.size,
      level: fill,
      stopLevel,
      limitLevel,
      createdAt: time,
      currency: req.currencyCode,
    };
    this.open.push(p);
    this.dealLog.push({ kind: 'open', dealId: p.dealId, epic: p.epic, dealReference, size: p.size, level: fill, time });
    const c: IgConfirm = {
      ...confirmBase(p, dealReference, time),
      affectedDeals: [{ dealId: p.dealId, status: 'OPENED' }],
      level: fill,
      size: p.size,
      status: 'OPEN',
    };
    this.confirms.set(dealReference, c);
    // Captured order after a REST open: CONFIRMS, then OPU (timestamps a few ms apart).
    this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
    this.emit('OPU', opu(p, 'OPEN', p.level, p.size, time, CHANNEL.rest));
    this.recordActivity(
      p,
      time,
      ACTIVITY_CHANNEL.api,
      'POSITION',
      'POSITION_OPENED',
      `Position opened: ${shortRef(p.dealId)}`,
      {
        dealId: p.dealId,
        dealReference,
        direction: p.direction,
        size: p.size,
        level: p.level,
      },
    );
    return dealReference;
  }

  /**
   * forceOpen false with opposite positions: IG nets them off (oldest first) instead of opening.
   * GUESS in the details: one confirm listing every affected deal; a remainder opens a position.
   */
  private netOff(req: OpenRequest, dealReference: string, opposing: FakeIgPosition[], time: number): string {
    let left = req.size;
    const affected: IgConfirm['affectedDeals'] = [];
    const m = this.markets.get(req.epic);
    if (m === undefined) throw new IgHttpError(404, 'error.trading.otc.instrument-not-found');
    let level = req.direction === 'BUY' ? m.ask : m.bid;
    let profit = 0;
    let firstDealId: string | undefined;
    for (const p of opposing) {
      if (left <= EPS) break;
      const size = Math.min(left, p.size);
      left = roundTo(left - size, 12);
      firstDealId ??= p.dealId;
      const result = this.reduce(p, size, level, time, {
        opuChannel: CHANNEL.rest,
        activityChannel: ACTIVITY_CHANNEL.api,
        closingDealReference: dealReference,
      });
      profit += result.profit;
      affected.push({ dealId: p.dealId, status: result.full ? 'FULLY_CLOSED' : 'PARTIALLY_CLOSED' });
    }
    let status: IgConfirm['status'] = affected.every((a) => a.status === 'FULLY_CLOSED')
      ? 'CLOSED'
      : 'PARTIALLY_CLOSED';
    if (left > EPS) {
      const p: FakeIgPosition = {
        dealId: this.nextDealId(),
        dealReference,
        epic: req.epic,
        direction: req.direction,
        size: left,
        level,
        stopLevel: null,
        limitLevel: null,
        createdAt: time,
        currency: req.currencyCode,
      };
      this.open.push(p);
      affected.push({ dealId: p.dealId, status: 'OPENED' });
      status = 'OPEN';
      this.emit('OPU', opu(p, 'OPEN', p.level, p.size, time, CHANNEL.rest));
    }
    level = roundTo(level, m.decimals);
    const c: IgConfirm = {
      direction: req.direction,
      epic: req.epic,
      stopLevel: null,
      limitLevel: null,
      dealReference,
      dealId: firstDealId ?? '',
      limitDistance: null,
      stopDistance: null,
      expiry: '-',
      affectedDeals: affected,
      dealStatus: 'ACCEPTED',
      guaranteedStop: false,
      trailingStop: false,
      level,
      reason: 'SUCCESS',
      status,
      size: req.size,
      profit: roundTo(profit, 2),
      profitCurrency: this.currency,
      date: isoUtcMs(time),
    };
    this.confirms.set(dealReference, c);
    this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
    return dealReference;
  }

  /** PUT /positions/otc/{dealId} v2: sets both levels (an absent level removes it, as on IG). */
  amendPosition(dealId: string, body: Record<string, unknown>): string {
    const stopLevel = optionalNumber(body, 'stopLevel');
    const limitLevel = optionalNumber(body, 'limitLevel');
    if (body['trailingStop'] === true) {
      throw new IgHttpError(400, 'invalid.input'); // trailing stops: not modelled by the fake
    }
    if (body['guaranteedStop'] === true) throw new IgHttpError(400, 'invalid.input'); // not modelled
    const dealReference = this.nextDealReference();
    const time = this.now();
    const p = this.open.find((x) => x.dealId === dealId);
    if (p === undefined) {
      // GUESS: PUT documents no 404 for an unknown deal; the deal is refused through its confirm.
      const c = rejected('', dealReference, 'POSITION_NOT_FOUND', time, null, dealId);
      this.confirms.set(dealReference, c);
      this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
      return dealReference;
    }
    const m = this.mustMarket(p.epic);
    const sign = p.direction === 'BUY' ? 1 : -1;
    const current = p.direction === 'BUY' ? m.bid : m.ask;
    // Measured from the current price the position would close at (bid for BUY, ask for SELL).
    const stopOk = stopLevel === null || farEnough(m, sign * (current - stopLevel));
    const limitOk = limitLevel === null || farEnough(m, sign * (limitLevel - current));
    if (!stopOk || !limitOk) {
      const c = rejected(p.epic, dealReference, 'ATTACHED_ORDER_LEVEL_ERROR', time, p.direction, p.dealId);
      this.confirms.set(dealReference, c);
      this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
      return dealReference;
    }
    p.stopLevel = stopLevel;
    p.limitLevel = limitLevel;
    const c: IgConfirm = {
      ...confirmBase(p, dealReference, time),
      affectedDeals: [{ dealId: p.dealId, status: 'AMENDED' }],
      level: p.level,
      size: p.size,
      status: 'AMENDED',
    };
    this.confirms.set(dealReference, c);
    this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
    this.emit('OPU', opu(p, 'UPDATED', p.level, p.size, time, CHANNEL.rest));
    this.recordActivity(
      p,
      time,
      ACTIVITY_CHANNEL.api,
      'EDIT_STOP_AND_LIMIT',
      'STOP_LIMIT_AMENDED',
      `Stop/limit amended: ${shortRef(p.dealId)}`,
      {
        dealId: this.nextDealId(),
        dealReference,
        direction: p.direction,
        size: p.size,
        level: p.level,
      },
    );
    return dealReference;
  }

  /** DELETE /positions/otc v1 (sent as POST with `_method: DELETE`). */
  closePosition(body: Record<string, unknown>): string {
    const size = requiredNumber(body, 'size');
    const direction = requiredDirection(body);
    const orderType = body['orderType'];
    if (orderType === undefined || orderType === null)
      throw new IgHttpError(400, 'validation.null-not-allowed.request.orderType');
    if (orderType !== 'MARKET') throw new IgHttpError(400, 'invalid.input'); // LIMIT/QUOTE: not modelled
    const dealId = typeof body['dealId'] === 'string' ? body['dealId'] : undefined;
    const epic = typeof body['epic'] === 'string' ? body['epic'] : undefined;
    if ((dealId === undefined) === (epic === undefined)) throw new IgHttpError(400, 'invalid.input'); // "Set only one of {dealId,epic}"
    if (epic !== undefined && typeof body['expiry'] !== 'string') throw new IgHttpError(400, 'invalid.input'); // "If epic is defined, then set expiry"

    const dealReference = this.nextDealReference();
    const time = this.now();
    const refuse = (reason: string, epicOf: string): string => {
      const c = rejected(epicOf, dealReference, reason, time, direction, dealId ?? this.nextDealId());
      this.confirms.set(dealReference, c);
      this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
      return dealReference;
    };

    if (epic !== undefined) {
      // Close by epic: the positions opposite to `direction`, oldest first.
      const targets = this.open.filter((p) => p.epic === epic && p.direction === opposite(direction));
      const available = targets.reduce((s, p) => s + p.size, 0);
      if (targets.length === 0 || available + EPS < size) return refuse('POSITION_NOT_AVAILABLE_TO_CLOSE', epic);
      return this.netOff(
        {
          epic,
          direction,
          size,
          forceOpen: false,
          stopLevel: null,
          stopDistance: null,
          limitLevel: null,
          limitDistance: null,
          currencyCode: this.currency,
          dealReference,
        },
        dealReference,
        targets,
        time,
      );
    }

    const p = this.open.find((x) => x.dealId === dealId);
    // Documented reason: "Either the position no longer exists, or the size available to close is
    // less than the size specified."
    if (p === undefined || size > p.size + EPS) return refuse('POSITION_NOT_AVAILABLE_TO_CLOSE', p?.epic ?? '');
    if (direction === p.direction) return refuse('WRONG_SIDE_OF_MARKET', p.epic); // GUESS: a close must go the other way
    const m = this.mustMarket(p.epic);
    const fill = p.direction === 'BUY' ? m.bid : m.ask;
    const result = this.reduce(p, size, fill, time, {
      opuChannel: CHANNEL.rest,
      activityChannel: ACTIVITY_CHANNEL.api,
      closingDealReference: dealReference,
    });
    // Captured REST close: dealId of the position, direction of the closing trade, stop/limit null,
    // affectedDeals FULLY_CLOSED, status CLOSED, profit with profitCurrency.
    const c: IgConfirm = {
      direction,
      epic: p.epic,
      stopLevel: null,
      limitLevel: null,
      dealReference,
      dealId: p.dealId,
      limitDistance: null,
      stopDistance: null,
      expiry: '-',
      affectedDeals: [{ dealId: p.dealId, status: result.full ? 'FULLY_CLOSED' : 'PARTIALLY_CLOSED' }],
      dealStatus: 'ACCEPTED',
      guaranteedStop: false,
      trailingStop: false,
      level: fill,
      reason: 'SUCCESS',
      status: result.full ? 'CLOSED' : 'PARTIALLY_CLOSED',
      size,
      profit: result.profit,
      profitCurrency: this.currency,
      date: isoUtcMs(time),
    };
    this.confirms.set(dealReference, c);
    this.emit('CONFIRMS', { ...c, channel: CHANNEL.rest });
    return dealReference;
  }

  // ---------------------------------------------------------------- deals made elsewhere

  openExternally(p: {
    epic: string;
    direction: Direction;
    size: number;
    level?: number;
    stopLevel?: number;
    limitLevel?: number;
  }): string {
    const m = this.mustMarket(p.epic);
    const time = this.now();
    const position: FakeIgPosition = {
      dealId: this.nextDealId(),
      dealReference: this.nextDealReference(),
      epic: p.epic,
      direction: p.direction,
      size: p.size,
      level: p.level ?? (p.direction === 'BUY' ? m.ask : m.bid),
      stopLevel: p.stopLevel ?? null,
      limitLevel: p.limitLevel ?? null,
      createdAt: time,
      currency: this.currency,
    };
    this.open.push(position);
    this.dealLog.push({
      kind: 'open',
      dealId: position.dealId,
      epic: position.epic,
      dealReference: position.dealReference,
      size: position.size,
      level: position.level,
      time,
    });
    this.emit('OPU', opu(position, 'OPEN', position.level, position.size, time, CHANNEL.web));
    this.recordActivity(
      position,
      time,
      ACTIVITY_CHANNEL.web,
      'POSITION',
      'POSITION_OPENED',
      `Position opened: ${shortRef(position.dealId)}`,
      {
        dealId: position.dealId,
        dealReference: position.dealReference,
        direction: position.direction,
        size: position.size,
        level: position.level,
      },
    );
    this.flush();
    return position.dealId;
  }

  /**
   * Sets a position's stop and limit as if done on IG's platform: emits an OPU UPDATED (channel
   * WTP). A level left out is kept (the platform edits one level at a time); null removes it.
   */
  amendExternally(dealId: string, levels: { stopLevel?: number | null; limitLevel?: number | null }): void {
    const p = this.open.find((x) => x.dealId === dealId);
    if (p === undefined) throw new Error(`fake IG: amendExternally of unknown deal ${dealId}`);
    const time = this.now();
    if (levels.stopLevel !== undefined) p.stopLevel = levels.stopLevel;
    if (levels.limitLevel !== undefined) p.limitLevel = levels.limitLevel;
    this.emit('OPU', opu(p, 'UPDATED', p.level, p.size, time, CHANNEL.web));
    this.recordActivity(
      p,
      time,
      ACTIVITY_CHANNEL.web,
      'EDIT_STOP_AND_LIMIT',
      'STOP_LIMIT_AMENDED',
      `Stop/limit amended: ${shortRef(p.dealId)}`,
      {
        dealId: this.nextDealId(),
        dealReference: this.nextDealReference(),
        direction: p.direction,
        size: p.size,
        level: p.level,
      },
    );
    this.flush();
  }

  closeExternally(dealId: string, level?: number, size?: number): void {
    const p = this.open.find((x) => x.dealId === dealId);
    if (p === undefined) throw new Error(`fake IG: closeExternally of unknown deal ${dealId}`);
    const m = this.mustMarket(p.epic);
    const closeSize = size ?? p.size;
    if (!(closeSize > 0) || closeSize > p.size + EPS)
      throw new Error(`fake IG: cannot close ${closeSize} of ${p.size}`);
    this.reduce(p, closeSize, level ?? (p.direction === 'BUY' ? m.bid : m.ask), this.now(), {
      opuChannel: CHANNEL.web,
      activityChannel: ACTIVITY_CHANNEL.web,
      closingDealReference: this.nextDealReference(),
    });
    this.flush();
  }

  // ---------------------------------------------------------------- shared close path

  /**
   * Closes `size` of `p` at `fill`: updates the book, emits the OPU (DELETED with size 0 and the
   * fill level, or UPDATED with the remaining size), writes activity and transaction history.
   */
  private reduce(
    p: FakeIgPosition,
    size: number,
    fill: number,
    time: number,
    how: { opuChannel: string; activityChannel: string; closingDealReference: string },
  ): { full: boolean; profit: number } {
    const m = this.mustMarket(p.epic);
    const full = size >= p.size - EPS;
    this.dealLog.push({
      kind: 'close',
      dealId: p.dealId,
      epic: p.epic,
      dealReference: how.closingDealReference,
      size,
      level: fill,
      time,
    });
    const sign = p.direction === 'BUY' ? 1 : -1;
    const points = (sign * (fill - p.level)) / m.pointSize;
    const profit = roundTo(points * size * m.valuePerPoint, 2);
    if (full) {
      this.open.splice(this.open.indexOf(p), 1);
      // Captured: a closed position's OPU is DELETED, size 0, level = the closing level.
      this.emit('OPU', opu(p, 'DELETED', fill, 0, time, how.opuChannel));
    } else {
      p.size = roundTo(p.size - size, 12);
      // GUESS: a partial close reports UPDATED with the remaining size at the opening level.
      this.emit('OPU', opu(p, 'UPDATED', p.level, p.size, time, how.opuChannel));
    }
    // The closing deal gets a deal id of its own; the activity names the position it affected.
    const closingDealId = this.nextDealId();
    this.recordActivity(
      p,
      time,
      how.activityChannel,
      'POSITION',
      full ? 'POSITION_CLOSED' : 'POSITION_PARTIALLY_CLOSED',
      full ? `Position/s closed: ${shortRef(p.dealId)}` : `Position partially closed: ${shortRef(p.dealId)}`,
      {
        dealId: closingDealId,
        dealReference: how.closingDealReference,
        direction: opposite(p.direction),
        size,
        level: fill,
      },
    );
    this.transactionLog.push({
      date: isoUtcSec(time).slice(0, 10),
      dateUtc: isoUtcSec(time),
      openDateUtc: isoUtcSec(p.createdAt),
      instrumentName: m.instrumentName,
      period: '-',
      profitAndLoss: moneyString(this.currency, profit),
      transactionType: 'DEAL',
      // GUESS: IG's 8-character reference; taken here from the closing deal's id.
      reference: shortRef(closingDealId),
      openLevel: levelString(p.level, m.decimals),
      closeLevel: levelString(fill, m.decimals),
      size: signedSize(p.direction, size),
      currency: this.currency,
      cashTransaction: false,
    });
    return { full, profit };
  }

  private recordActivity(
    p: FakeIgPosition,
    time: number,
    channel: string,
    type: IgActivity['type'],
    actionType: string,
    description: string,
    deal: { dealId: string; dealReference: string; direction: Direction; size: number; level: number },
  ): void {
    const m = this.mustMarket(p.epic);
    this.activityLog.push({
      date: isoUtcSec(time),
      epic: p.epic,
      period: '-',
      dealId: deal.dealId,
      channel,
      type,
      status: 'ACCEPTED',
      description,
      details: {
        dealReference: deal.dealReference,
        actions: [{ actionType, affectedDealId: p.dealId }],
        marketName: m.instrumentName,
        goodTillDate: null,
        currency: p.currency,
        size: deal.size,
        direction: deal.direction,
        level: deal.level,
        stopLevel: p.stopLevel,
        stopDistance: null,
        guaranteedStop: false,
        trailingStopDistance: null,
        trailingStep: null,
        limitLevel: p.limitLevel,
        limitDistance: null,
      },
    });
  }

  private mustMarket(epic: string): MarketState {
    const m = this.markets.get(epic);
    if (m === undefined) throw new Error(`fake IG: unknown epic ${epic}`);
    return m;
  }

  // ---------------------------------------------------------------- REST views

  /** One element of GET /positions v2 `positions` (also the body of GET /positions/{dealId} v2). */
  positionView(p: FakeIgPosition): object {
    const m = this.mustMarket(p.epic);
    return {
      position: {
        contractSize: 1,
        createdDate: igLocalDateTime(p.createdAt),
        createdDateUTC: isoUtcSec(p.createdAt),
        dealId: p.dealId,
        dealReference: p.dealReference,
        size: p.size,
        direction: p.direction,
        limitLevel: p.limitLevel,
        level: p.level,
        currency: p.currency,
        controlledRisk: false,
        stopLevel: p.stopLevel,
        trailingStep: null,
        trailingStopDistance: null,
        limitedRiskPremium: null,
      },
      market: marketSummary(m),
    };
  }

  /** GET /markets/{epic} v3. */
  marketView(epic: string): object {
    const m = this.markets.get(epic);
    if (m === undefined) throw new IgHttpError(404, 'error.service.marketdata.instrument.epic.unavailable');
    const netChange = roundTo((m.bid + m.ask) / 2 - m.open, m.decimals);
    return {
      instrument: {
        epic: m.epic,
        expiry: '-',
        name: m.instrumentName,
        forceOpenAllowed: true,
        stopsLimitsAllowed: true,
        lotSize: 1,
        unit: 'CONTRACTS',
        type: 'INDICES',
        controlledRiskAllowed: true,
        streamingPricesAvailable: true,
        marketId: m.epic,
        currencies: [
          {
            code: this.currency,
            symbol: moneyString(this.currency, 0).replace('0.00', ''),
            baseExchangeRate: 1,
            exchangeRate: 1,
            isDefault: true,
          },
        ],
        sprintMarketsMinimumExpiryTime: null,
        sprintMarketsMaximumExpiryTime: null,
        marginDepositBands: [{ min: 0, max: null, margin: 5, currency: this.currency }],
        marginFactor: 5,
        marginFactorUnit: 'PERCENTAGE',
        slippageFactor: { unit: 'pct', value: 50 },
        limitedRiskPremium: { value: 1, unit: 'POINTS' },
        openingHours: null,
        expiryDetails: null,
        rolloverDetails: null,
        newsCode: null,
        chartCode: null,
        country: null,
        valueOfOnePip: String(m.valuePerPoint),
        onePipMeans: String(m.pointSize),
        contractSize: '1',
        specialInfo: [],
      },
      dealingRules: {
        minStepDistance: { unit: 'POINTS', value: 1 },
        minDealSize: { unit: 'POINTS', value: 0.01 },
        minControlledRiskStopDistance: { unit: 'POINTS', value: m.minStopDistance },
        minNormalStopOrLimitDistance: { unit: 'POINTS', value: m.minStopDistance },
        maxStopOrLimitDistance: { unit: 'PERCENTAGE', value: 75 },
        controlledRiskSpacing: { unit: 'POINTS', value: 0 },
        marketOrderPreference: 'AVAILABLE_DEFAULT_ON',
        trailingStopsPreference: 'AVAILABLE',
      },
      snapshot: {
        marketStatus: 'TRADEABLE',
        netChange,
        percentageChange: m.open === 0 ? 0 : roundTo((netChange / m.open) * 100, 2),
        updateTime: timeOfDay(m.updatedAt),
        delayTime: 0,
        bid: m.bid,
        offer: m.ask,
        high: m.high,
        low: m.low,
        binaryOdds: null,
        decimalPlacesFactor: m.decimals,
        // One IG point in price terms is 1/scalingFactor: the market's point (10000 for EURUSD).
        scalingFactor: Math.round(1 / m.pointSize),
        controlledRiskExtraSpread: 1,
      },
    };
  }
}

function marketSummary(m: MarketState): object {
  return {
    instrumentName: m.instrumentName,
    expiry: '-',
    epic: m.epic,
    instrumentType: 'INDICES',
    lotSize: 1,
    high: m.high,
    low: m.low,
    percentageChange: 0,
    netChange: 0,
    bid: m.bid,
    offer: m.ask,
    updateTime: timeOfDay(m.updatedAt),
    updateTimeUTC: timeOfDay(m.updatedAt),
    delayTime: 0,
    streamingPricesAvailable: true,
    marketStatus: 'TRADEABLE',
    scalingFactor: Math.round(1 / m.pointSize),
  };
}

/** A distance (price terms, positive on the correct side) at least the market's minimum. */
function farEnough(m: MarketState, distance: number): boolean {
  const min = m.minStopDistance * m.pointSize;
  return distance > EPS * m.pointSize && distance >= min - EPS * m.pointSize;
}

function confirmBase(
  p: FakeIgPosition,
  dealReference: string,
  time: number,
): Omit<IgConfirm, 'affectedDeals' | 'level' | 'size' | 'status'> {
  return {
    direction: p.direction,
    epic: p.epic,
    stopLevel: p.stopLevel,
    limitLevel: p.limitLevel,
    dealReference,
    dealId: p.dealId,
    limitDistance: null,
    stopDistance: null,
    expiry: '-',
    dealStatus: 'ACCEPTED',
    guaranteedStop: false,
    trailingStop: false,
    reason: 'SUCCESS',
    profit: null,
    profitCurrency: null,
    date: isoUtcMs(time),
  };
}

/** Captured rejected confirm: levels, size, status and expiry null, affectedDeals empty. */
function rejected(
  epic: string,
  dealReference: string,
  reason: string,
  time: number,
  direction: Direction | null,
  dealId: string,
): IgConfirm {
  return {
    direction,
    epic,
    stopLevel: null,
    limitLevel: null,
    dealReference,
    // A rejected deal has a deal id of its own too (captured).
    dealId,
    limitDistance: null,
    stopDistance: null,
    expiry: null,
    affectedDeals: [],
    dealStatus: 'REJECTED',
    guaranteedStop: false,
    trailingStop: false,
    level: null,
    reason,
    status: null,
    size: null,
    profit: null,
    profitCurrency: null,
    date: isoUtcMs(time),
  };
}

function opu(
  p: FakeIgPosition,
  status: IgOpu['status'],
  level: number,
  size: number,
  time: number,
  channel: string,
): IgOpu {
  return {
    dealReference: p.dealReference,
    dealId: p.dealId,
    direction: p.direction,
    epic: p.epic,
    status,
    dealStatus: 'ACCEPTED',
    level,
    size,
    timestamp: isoUtcMs(time),
    channel,
    dealIdOrigin: p.dealId,
    expiry: '-',
    stopLevel: p.stopLevel,
    limitLevel: p.limitLevel,
    guaranteedStop: false,
  };
}

// ---------------------------------------------------------------- request validation

function present(body: Record<string, unknown>, key: string): boolean {
  return body[key] !== undefined && body[key] !== null;
}

function requireField(body: Record<string, unknown>, key: string): unknown {
  if (!present(body, key)) throw new IgHttpError(400, `validation.null-not-allowed.request.${key}`);
  return body[key];
}

function requiredNumber(body: Record<string, unknown>, key: string): number {
  const v = requireField(body, key);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new IgHttpError(400, 'invalid.input');
  return v;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | null {
  if (!present(body, key)) return null;
  const v = body[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new IgHttpError(400, 'invalid.input');
  return v;
}

function requiredDirection(body: Record<string, unknown>): Direction {
  const v = requireField(body, 'direction');
  if (v !== 'BUY' && v !== 'SELL') throw new IgHttpError(400, 'invalid.input');
  return v;
}

/** POST /positions/otc v2 constraints from the labs reference; violations answer 400 as IG does. */
function parseOpenRequest(body: Record<string, unknown>): OpenRequest {
  // NotNull fields, in the order of the reference; IG names the first missing one.
  for (const key of [
    'currencyCode',
    'direction',
    'epic',
    'expiry',
    'forceOpen',
    'guaranteedStop',
    'orderType',
    'size',
  ]) {
    requireField(body, key);
  }
  const currencyCode = body['currencyCode'];
  const epic = body['epic'];
  const expiry = body['expiry'];
  const dealReference = body['dealReference'];
  if (typeof currencyCode !== 'string' || !/^[A-Z]{3}$/.test(currencyCode)) throw new IgHttpError(400, 'invalid.input');
  if (typeof epic !== 'string' || !/^[A-Za-z0-9._]{6,30}$/.test(epic)) throw new IgHttpError(400, 'invalid.input');
  if (typeof expiry !== 'string' || !/^((\d{2}-)?[A-Z]{3}-\d{2}|-|DFB)$/.test(expiry))
    throw new IgHttpError(400, 'invalid.input');
  if (
    present(body, 'dealReference') &&
    (typeof dealReference !== 'string' || !/^[A-Za-z0-9_-]{1,30}$/.test(dealReference))
  ) {
    throw new IgHttpError(400, 'invalid.input');
  }
  if (typeof body['forceOpen'] !== 'boolean' || typeof body['guaranteedStop'] !== 'boolean')
    throw new IgHttpError(400, 'invalid.input');
  if (body['guaranteedStop'] === true || body['trailingStop'] === true) throw new IgHttpError(400, 'invalid.input'); // not modelled
  if (body['orderType'] !== 'MARKET') throw new IgHttpError(400, 'invalid.input'); // LIMIT/QUOTE: not modelled
  if (present(body, 'level') || present(body, 'quoteId')) throw new IgHttpError(400, 'invalid.input'); // "If orderType equals MARKET, then DO NOT set level,quoteId"
  const direction = requiredDirection(body);
  const size = requiredNumber(body, 'size');
  const stopLevel = optionalNumber(body, 'stopLevel');
  const stopDistance = optionalNumber(body, 'stopDistance');
  const limitLevel = optionalNumber(body, 'limitLevel');
  const limitDistance = optionalNumber(body, 'limitDistance');
  if (stopLevel !== null && stopDistance !== null) throw new IgHttpError(400, 'invalid.input'); // "Set only one of {stopLevel,stopDistance}"
  if (limitLevel !== null && limitDistance !== null) throw new IgHttpError(400, 'invalid.input'); // "Set only one of {limitLevel,limitDistance}"
  const forceOpen = body['forceOpen'] === true;
  // "If a stopLevel/stopDistance/limitLevel/limitDistance is set, then forceOpen must be true".
  if (!forceOpen && (stopLevel ?? stopDistance ?? limitLevel ?? limitDistance) !== null)
    throw new IgHttpError(400, 'invalid.input');
  return {
    epic,
    direction,
    size,
    forceOpen,
    stopLevel,
    stopDistance,
    limitLevel,
    limitDistance,
    currencyCode,
    dealReference: typeof dealReference === 'string' ? dealReference : null,
  };
}
