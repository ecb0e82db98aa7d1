/**
 * IG wire ↔ trailguard domain. Pure functions: no I/O, no clock (times come from the payloads).
 */
import { createHash, randomUUID } from 'node:crypto';
import { BrokerRejected } from '../../domain/errors.js';
import type {
  ActionRejectedEvent,
  CloseCause,
  PositionAmendedEvent,
  PositionClosedEvent,
  PositionOpenedEvent,
} from '../../domain/events.js';
import type { Direction, Tick } from '../../domain/types.js';
import type { BrokerAction, BrokerEvent } from '../../ports/broker.js';
import { UNEXPECTED_PAYLOAD } from './errors.js';
import type { IgActivity, IgConfirm, IgMarket, IgOpu, IgPosition, IgTransaction } from './schemas.js';

// ---------------------------------------------------------------- times

const IG_LOCAL_FORMAT = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?::(\d{1,3}))?$/;
const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * IG time → epoch ms. IG writes UTC times without a zone (`createdDateUTC` "2020-06-01T12:00:00",
 * confirm `date` "2018-01-15T10:00:01.000", OPU `timestamp` "2022-04-04T15:30:35.822"), so a time
 * without a zone is UTC. Also accepted: epoch ms (stream UTM), a zoned ISO time, and the
 * "yyyy/MM/dd HH:mm:ss:SSS" form of v1 fields (read as UTC too).
 */
export function parseIgTime(value: string | number, where = 'time'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else {
    const text = value.trim();
    let ms = Number.NaN;
    if (/^\d{10,16}$/.test(text)) ms = Number(text);
    else if (ISO_NO_ZONE.test(text)) ms = Date.parse(`${text}Z`);
    else if (ISO_WITH_ZONE.test(text)) ms = Date.parse(text);
    else {
      const m = IG_LOCAL_FORMAT.exec(text);
      if (m) ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? '0').padEnd(3, '0')}Z`);
    }
    if (Number.isFinite(ms)) return ms;
  }
  throw new BrokerRejected(
    `unexpected IG payload at ${where}: not a time: ${JSON.stringify(value)}`,
    UNEXPECTED_PAYLOAD,
  );
}

/** Epoch ms → the `yyyy-MM-ddTHH:mm:ss` form IG's history endpoints take (UTC). */
export function formatIgTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

// ---------------------------------------------------------------- numbers

function opt(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : value;
}

/** "+1.5", "-0.75", "£-12.50", "A$1,234.5", "-" → number | undefined (never NaN). */
export function parseIgAmount(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const cleaned = text.replace(/[^0-9.+-]/g, '');
  if (cleaned === '' || cleaned === '-' || cleaned === '+') return undefined;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : undefined;
}

export function opposite(direction: Direction): Direction {
  return direction === 'BUY' ? 'SELL' : 'BUY';
}

// ---------------------------------------------------------------- deal references

/** IG's pattern for a user-supplied dealReference (POST /positions/otc v2). */
export const DEAL_REFERENCE_PATTERN = /^[A-Za-z0-9_-]{1,30}$/;

/**
 * A dealReference derived from an engine action ref: the same ref always gives the same
 * reference, so a restarted process can find its deal in /confirms. Refs that are already valid
 * are kept; others are hashed. The caller must keep refs unique across runs (IG's /confirms
 * answers for the most recent deal with a reference).
 */
export function dealReferenceFor(ref: string): string {
  if (DEAL_REFERENCE_PATTERN.test(ref)) return ref;
  const readable = ref.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 12);
  const hash = createHash('sha256')
    .update(ref)
    .digest('base64url')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 15);
  return `${readable}-${hash}`.slice(0, 30);
}

/**
 * What a restarted trailguard needs to take over an open of its own whose confirmation it never
 * saw (killed between sending the deal and reading the answer), beyond what IG's position holds:
 * whether the virtual stop applies (the broker stop is then the safety stop), whether the initial
 * stop is ATR-based (the reason of its hit, SPEC §9), and the strategy, as a tag of its name.
 * Nothing may be saved before a deal is sent (SPEC §3.2), so it travels in the deal reference.
 */
export interface OwnOpenMark {
  virtual: boolean;
  atrStop: boolean;
  strategyTag: string;
  /**
   * The state directory's tag (stateDirTag): several trailguards, each on its own state
   * directory, may share one IG account, and each takes over only its own opens. Undefined in
   * references written before it existed.
   */
  dirTag?: string | undefined;
}

/**
 * `TG`, the flags, the strategy tag (4 characters), the state directory's tag (4, when the flags
 * are 4–7), `-`, the unique part. Flags 0–3: virtual + 2 × ATR; 4 more when a directory tag
 * follows (older references have none).
 */
const OWN_OPEN_REFERENCE =
  /^TG(?:([0-3])([A-Za-z0-9_-]{4})|([4-7])([A-Za-z0-9_-]{4})([A-Za-z0-9_-]{4}))-[A-Za-z0-9_-]+$/;

/** Four characters of a strategy name's SHA-256: enough to tell a configuration's strategies apart. */
export function strategyTag(strategy: string): string {
  return createHash('sha256').update(strategy).digest('base64url').slice(0, 4);
}

/**
 * The deal reference of an open trailguard sends: its mark, then `unique` (unique across runs, so
 * /confirms finds the deal); undefined when that does not fit IG's pattern (the caller then hashes
 * `unique` with dealReferenceFor, and a restart cannot recognise the deal as its own).
 */
export function ownOpenReference(unique: string, mark: OwnOpenMark): string | undefined {
  const flags = (mark.virtual ? 1 : 0) + (mark.atrStop ? 2 : 0) + (mark.dirTag === undefined ? 0 : 4);
  const reference = `TG${flags}${mark.strategyTag}${mark.dirTag ?? ''}-${unique}`;
  return DEAL_REFERENCE_PATTERN.test(reference) && OWN_OPEN_REFERENCE.test(reference) ? reference : undefined;
}

/** The mark of a deal reference made by ownOpenReference; undefined for any other reference. */
export function parseOwnOpenReference(reference: string | undefined): OwnOpenMark | undefined {
  const match = reference === undefined ? null : OWN_OPEN_REFERENCE.exec(reference);
  if (match === null || !DEAL_REFERENCE_PATTERN.test(reference as string)) return undefined;
  if (match[1] !== undefined) {
    const flags = Number(match[1]);
    return { virtual: (flags & 1) !== 0, atrStop: (flags & 2) !== 0, strategyTag: match[2] as string };
  }
  const flags = Number(match[3]);
  return {
    virtual: (flags & 1) !== 0,
    atrStop: (flags & 2) !== 0,
    strategyTag: match[4] as string,
    dirTag: match[5] as string,
  };
}

/** A fresh reference for a deal sent without one. */
export function newDealReference(): string {
  return `TG-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

// ---------------------------------------------------------------- positions

/** An open position as IG reports it, in domain words. */
export interface IgOpenPosition {
  dealId: string;
  dealReference?: string | undefined;
  market: string;
  direction: Direction;
  size: number;
  level: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  /** createdDateUTC as epoch ms. */
  openedAt: number;
  currency?: string | undefined;
  bid?: number | undefined;
  ask?: number | undefined;
}

export function positionFromIg(p: IgPosition): IgOpenPosition {
  const pos = p.position;
  return {
    dealId: pos.dealId,
    dealReference: pos.dealReference ?? undefined,
    market: p.market.epic,
    direction: pos.direction,
    size: pos.size,
    level: pos.level,
    stopLevel: opt(pos.stopLevel),
    limitLevel: opt(pos.limitLevel),
    openedAt: parseIgTime(pos.createdDateUTC, 'position.createdDateUTC'),
    currency: pos.currency ?? undefined,
    bid: opt(p.market.bid),
    ask: opt(p.market.offer),
  };
}

/** A position found on the account (start-up, sync, an OPEN update for a deal that is not ours). */
export function positionOpenedEvent(
  pos: IgOpenPosition,
  extra: { ref?: string | undefined; strategy?: string | undefined } = {},
): PositionOpenedEvent {
  return {
    type: 'positionOpened',
    time: pos.openedAt,
    ...(extra.ref !== undefined ? { ref: extra.ref } : {}),
    dealId: pos.dealId,
    market: pos.market,
    direction: pos.direction,
    size: pos.size,
    level: pos.level,
    ...(pos.stopLevel !== undefined ? { stopLevel: pos.stopLevel } : {}),
    ...(pos.limitLevel !== undefined ? { limitLevel: pos.limitLevel } : {}),
    ...(extra.strategy !== undefined ? { strategy: extra.strategy } : {}),
  };
}

// ---------------------------------------------------------------- confirms

export type ConfirmSource = 'confirm' | 'positions' | 'activity';

/** A deal confirmation in domain words. `settledBy` says how the outcome was learnt. */
export interface DealConfirmation {
  dealReference: string;
  dealId?: string | undefined;
  dealStatus: 'ACCEPTED' | 'REJECTED';
  /** Resulting position status: OPEN, AMENDED, CLOSED, PARTIALLY_CLOSED, DELETED. */
  status?: string | undefined;
  /** IG's reason, e.g. SUCCESS, ATTACHED_ORDER_LEVEL_ERROR, MARKET_CLOSED_WITH_EDITS. */
  reason?: string | undefined;
  market?: string | undefined;
  direction?: Direction | undefined;
  level?: number | undefined;
  size?: number | undefined;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  profit?: number | undefined;
  profitCurrency?: string | undefined;
  /** Epoch ms of the deal. */
  time: number;
  affectedDeals: { dealId: string; status: string }[];
  settledBy: ConfirmSource;
}

export function confirmFromIg(c: IgConfirm): DealConfirmation {
  return {
    dealReference: c.dealReference,
    dealId: c.dealId ?? undefined,
    dealStatus: c.dealStatus,
    status: c.status ?? undefined,
    reason: c.reason ?? undefined,
    market: c.epic ?? undefined,
    direction: c.direction ?? undefined,
    level: opt(c.level),
    size: opt(c.size),
    stopLevel: opt(c.stopLevel),
    limitLevel: opt(c.limitLevel),
    profit: opt(c.profit),
    profitCurrency: c.profitCurrency ?? undefined,
    time: parseIgTime(c.date, 'confirm.date'),
    affectedDeals: (c.affectedDeals ?? []).map((d) => ({ dealId: d.dealId, status: d.status })),
    settledBy: 'confirm',
  };
}

/** The deal id of the *position* a confirm is about: for a close or amend IG's own dealId is the ticket's. */
export function positionDealIdOf(confirm: DealConfirmation, fallback?: string): string | undefined {
  return confirm.affectedDeals[0]?.dealId ?? fallback ?? confirm.dealId;
}

/**
 * The event a confirmation of one of our actions produces. A rejection becomes `actionRejected`
 * whatever the action; `cause` lets the `close` command report 'manual'.
 */
export function confirmToEvent(
  confirm: DealConfirmation,
  action: BrokerAction,
  options: { cause?: CloseCause } = {},
): BrokerEvent {
  if (confirm.dealStatus === 'REJECTED') {
    const rejected: ActionRejectedEvent = {
      type: 'actionRejected',
      time: confirm.time,
      ref: action.ref,
      reason: confirm.reason ?? 'REJECTED',
    };
    return rejected;
  }
  switch (action.type) {
    case 'open': {
      const dealId = confirm.dealId ?? positionDealIdOf(confirm);
      if (dealId === undefined) {
        throw new BrokerRejected(
          `unexpected IG payload at confirm ${confirm.dealReference}: accepted open without a dealId`,
          UNEXPECTED_PAYLOAD,
        );
      }
      const opened: PositionOpenedEvent = {
        type: 'positionOpened',
        time: confirm.time,
        ref: action.ref,
        dealId,
        market: confirm.market ?? action.market,
        direction: confirm.direction ?? action.direction,
        size: confirm.size ?? action.size,
        level: confirm.level ?? action.expectedLevel,
        strategy: action.strategy,
        ...(confirm.stopLevel !== undefined ? { stopLevel: confirm.stopLevel } : {}),
        ...(confirm.limitLevel !== undefined ? { limitLevel: confirm.limitLevel } : {}),
      };
      return opened;
    }
    case 'amendStop': {
      const amended: PositionAmendedEvent = {
        type: 'positionAmended',
        time: confirm.time,
        ref: action.ref,
        dealId: action.dealId,
        stopLevel: confirm.stopLevel ?? action.stopLevel,
        ...(confirm.limitLevel !== undefined
          ? { limitLevel: confirm.limitLevel }
          : action.limitLevel !== undefined
            ? { limitLevel: action.limitLevel }
            : {}),
      };
      return amended;
    }
    case 'close': {
      const closed: PositionClosedEvent = {
        type: 'positionClosed',
        time: confirm.time,
        ref: action.ref,
        dealId: action.dealId,
        size: confirm.size ?? action.size,
        level: confirm.level ?? Number.NaN,
        cause: options.cause ?? 'action',
      };
      if (!Number.isFinite(closed.level)) {
        throw new BrokerRejected(
          `unexpected IG payload at confirm ${confirm.dealReference}: close without a level`,
          UNEXPECTED_PAYLOAD,
        );
      }
      return closed;
    }
    default: {
      const _exhaustive: never = action;
      return _exhaustive;
    }
  }
}

// ---------------------------------------------------------------- stream: OPU

/** An OPU in domain words. */
export interface PositionUpdate {
  dealId: string;
  dealReference?: string | undefined;
  dealIdOrigin?: string | undefined;
  market: string;
  direction: Direction;
  status: 'OPEN' | 'UPDATED' | 'DELETED';
  dealStatus: 'ACCEPTED' | 'REJECTED';
  level: number;
  size: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  time: number;
  channel?: string | undefined;
}

export function positionUpdateFromOpu(o: IgOpu): PositionUpdate {
  return {
    dealId: o.dealId,
    dealReference: o.dealReference ?? undefined,
    dealIdOrigin: o.dealIdOrigin ?? undefined,
    market: o.epic,
    direction: o.direction,
    status: o.status,
    dealStatus: o.dealStatus,
    level: o.level,
    size: o.size,
    stopLevel: opt(o.stopLevel),
    limitLevel: opt(o.limitLevel),
    time: parseIgTime(o.timestamp, 'OPU.timestamp'),
    channel: o.channel ?? undefined,
  };
}

/** What the broker adapter remembers about a position between updates. */
export interface TrackedPosition {
  direction: Direction;
  size: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
}

export interface UpdateContext {
  /** The position as last known; absent for a position not seen before. */
  previous?: TrackedPosition | undefined;
  /** The engine ref of our action this update answers (matched by dealReference), if any. */
  ownRef?: string | undefined;
  /** Strategy for a position opened elsewhere (adopted). */
  strategy?: string | undefined;
  /** Fill level of a partial close, when known from a confirm or the activity history. */
  partialCloseLevel?: number | undefined;
}

const SIZE_EPSILON = 1e-9;
const LEVEL_EPSILON = 1e-9;

/**
 * Why a close that is not ours happened. IG does not say so plainly. With the levels in force we
 * compare the fill level (a BUY exits at bid: at/below the stop = stop, at/above the limit =
 * limit). Without them, the OPU `channel` is the hint: captured payloads show "OSAutoStopFill"
 * for broker-side fills and "WTP" for the web platform; the channel of a limit fill is not
 * documented, so a fill on that channel counts as a stop.
 */
export function inferCloseCause(update: PositionUpdate, previous: TrackedPosition | undefined): CloseCause {
  if (previous) {
    const buy = previous.direction === 'BUY';
    const { stopLevel, limitLevel } = previous;
    if (
      stopLevel !== undefined &&
      (buy ? update.level <= stopLevel + LEVEL_EPSILON : update.level >= stopLevel - LEVEL_EPSILON)
    )
      return 'stop';
    if (
      limitLevel !== undefined &&
      (buy ? update.level >= limitLevel - LEVEL_EPSILON : update.level <= limitLevel + LEVEL_EPSILON)
    )
      return 'limit';
    return 'external';
  }
  const channel = (update.channel ?? '').toLowerCase();
  if (channel.includes('limit')) return 'limit';
  if (channel.includes('stop')) return 'stop';
  return 'external';
}

/** True when this update reports a partial close (its `level` is then the OPENING level, see below). */
export function isPartialClose(update: PositionUpdate, previous: TrackedPosition | undefined): boolean {
  return (
    update.status === 'UPDATED' &&
    previous !== undefined &&
    update.size < previous.size - SIZE_EPSILON &&
    update.size > SIZE_EPSILON
  );
}

/**
 * An OPU → domain events.
 * - OPEN → positionOpened (with our ref when the dealReference is ours);
 * - UPDATED with a smaller size → positionClosed for previous − new size (a partial close);
 *   UPDATED with other stop/limit levels → positionAmended;
 * - DELETED → positionClosed for all that was open.
 * Levels: a DELETED update carries the closing level (captured IG payloads: size 0, level = the
 * close). An UPDATED one after a partial close carries the position's remaining size and, it
 * seems, its OPENING level — so the caller should pass the fill level it learnt elsewhere (our
 * confirm, or GET /history/activity) as `partialCloseLevel`; without it the OPU level is used.
 * A REJECTED update produces nothing: our deal's confirm reports rejections.
 */
export function positionUpdateToEvents(update: PositionUpdate, context: UpdateContext = {}): BrokerEvent[] {
  if (update.dealStatus !== 'ACCEPTED') return [];
  const { previous, ownRef } = context;
  const ref = ownRef !== undefined ? { ref: ownRef } : {};
  switch (update.status) {
    case 'OPEN':
      return [
        {
          type: 'positionOpened',
          time: update.time,
          ...ref,
          dealId: update.dealId,
          market: update.market,
          direction: update.direction,
          size: update.size,
          level: update.level,
          ...(update.stopLevel !== undefined ? { stopLevel: update.stopLevel } : {}),
          ...(update.limitLevel !== undefined ? { limitLevel: update.limitLevel } : {}),
          ...(context.strategy !== undefined ? { strategy: context.strategy } : {}),
        },
      ];
    case 'UPDATED': {
      const events: BrokerEvent[] = [];
      if (previous && update.size < previous.size - SIZE_EPSILON) {
        events.push({
          type: 'positionClosed',
          time: update.time,
          ...ref,
          dealId: update.dealId,
          size: roundSize(previous.size - update.size),
          level: context.partialCloseLevel ?? update.level,
          cause: ownRef !== undefined ? 'action' : inferCloseCause(update, previous),
        });
      }
      const levelsChanged =
        !previous || previous.stopLevel !== update.stopLevel || previous.limitLevel !== update.limitLevel;
      if (levelsChanged) {
        events.push({
          type: 'positionAmended',
          time: update.time,
          ...ref,
          dealId: update.dealId,
          ...(update.stopLevel !== undefined ? { stopLevel: update.stopLevel } : {}),
          ...(update.limitLevel !== undefined ? { limitLevel: update.limitLevel } : {}),
        });
      }
      return events;
    }
    case 'DELETED': {
      const size = previous?.size ?? update.size;
      return [
        {
          type: 'positionClosed',
          time: update.time,
          ...ref,
          dealId: update.dealId,
          size,
          level: update.level,
          cause: ownRef !== undefined ? 'action' : inferCloseCause(update, previous),
        },
      ];
    }
    default: {
      const _exhaustive: never = update.status;
      return _exhaustive;
    }
  }
}

/** Sizes are decimals (0.1 lots): 1.3 − 1.2 must be 0.1, not 0.10000000000000009. */
function roundSize(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

// ---------------------------------------------------------------- stream: ticks

/** A CHART:{epic}:TICK update (fields BID, OFR, UTM) → Tick, or undefined while a side is unknown. */
export function tickFromChart(
  market: string,
  bid: number | undefined,
  ask: number | undefined,
  time: number,
): Tick | undefined {
  if (bid === undefined || ask === undefined) return undefined;
  return { time, market, bid, ask };
}

// ---------------------------------------------------------------- markets

/** What trailguard needs from GET /markets/{epic} (SPEC §3.2: the broker's dealing rules win). */
export interface MarketRules {
  market: string;
  name?: string | undefined;
  /** Price decimals (snapshot.decimalPlacesFactor). */
  decimals: number;
  /** snapshot.scalingFactor: one IG point is 1/scalingFactor in price terms. */
  scalingFactor: number;
  /** Price size of one IG point (1 / scalingFactor). */
  brokerPointSize: number;
  /** dealingRules.minNormalStopOrLimitDistance as IG states it. */
  minStopDistanceRule: { unit: 'POINTS' | 'PERCENTAGE'; value: number };
  marketStatus: string;
  bid?: number | undefined;
  ask?: number | undefined;
  /** "-" (CFD) or "DFB" (spread bet daily funded bet), or a future's expiry. */
  expiry?: string | undefined;
  /** The instrument's default currency (needed by POST /positions/otc). */
  currency?: string | undefined;
  minDealSize?: number | undefined;
  onePipMeans?: string | undefined;
  valueOfOnePip?: number | undefined;
}

export function marketRulesFromIg(m: IgMarket): MarketRules {
  const scalingFactor = m.snapshot.scalingFactor > 0 ? m.snapshot.scalingFactor : 1;
  const currencies = m.instrument.currencies ?? [];
  const currency = (currencies.find((c) => c.isDefault === true) ?? currencies[0])?.code;
  const vop = m.instrument.valueOfOnePip;
  const valueOfOnePip = typeof vop === 'number' ? vop : parseIgAmount(vop);
  return {
    market: m.instrument.epic,
    name: m.instrument.name ?? undefined,
    decimals: m.snapshot.decimalPlacesFactor,
    scalingFactor,
    brokerPointSize: 1 / scalingFactor,
    minStopDistanceRule: {
      unit: m.dealingRules.minNormalStopOrLimitDistance.unit,
      value: m.dealingRules.minNormalStopOrLimitDistance.value,
    },
    marketStatus: m.snapshot.marketStatus,
    bid: opt(m.snapshot.bid),
    ask: opt(m.snapshot.offer),
    expiry: m.instrument.expiry ?? undefined,
    currency,
    minDealSize: m.dealingRules.minDealSize?.value,
    onePipMeans: m.instrument.onePipMeans ?? undefined,
    valueOfOnePip,
  };
}

/**
 * The broker's minimum stop distance in the configuration's points (`pointSize` = price units per
 * point). POINTS are IG points (1/scalingFactor each); PERCENTAGE is of the current mid price, so
 * it needs one: undefined when the snapshot has no price.
 */
export function minStopDistanceInPoints(rules: MarketRules, pointSize: number): number | undefined {
  const { unit, value } = rules.minStopDistanceRule;
  let priceDistance: number;
  if (unit === 'POINTS') priceDistance = value * rules.brokerPointSize;
  else {
    if (rules.bid === undefined || rules.ask === undefined) return undefined;
    priceDistance = (value / 100) * ((rules.bid + rules.ask) / 2);
  }
  // guard the division against float noise (0.0003 / 0.0001 = 2.9999999999999996)
  return Math.round((priceDistance / pointSize) * 1e9) / 1e9;
}

// ---------------------------------------------------------------- history

export interface TransactionRecord {
  reference: string;
  type: string;
  instrumentName?: string | undefined;
  openedAt?: number | undefined;
  closedAt: number;
  openLevel?: number | undefined;
  closeLevel?: number | undefined;
  /** Signed as IG writes it: "+1" / "-1". */
  size?: number | undefined;
  profitAndLoss?: number | undefined;
  currency?: string | undefined;
}

export function transactionFromIg(t: IgTransaction): TransactionRecord {
  return {
    reference: t.reference,
    type: t.transactionType,
    instrumentName: t.instrumentName ?? undefined,
    openedAt: t.openDateUtc ? parseIgTime(t.openDateUtc, 'transaction.openDateUtc') : undefined,
    closedAt: parseIgTime(t.dateUtc, 'transaction.dateUtc'),
    openLevel: parseIgAmount(t.openLevel),
    closeLevel: parseIgAmount(t.closeLevel),
    size: parseIgAmount(t.size),
    profitAndLoss: parseIgAmount(t.profitAndLoss),
    currency: t.currency ?? undefined,
  };
}

export interface ActivityRecord {
  time: number;
  dealId?: string | undefined;
  market?: string | undefined;
  /** POSITION, WORKING_ORDER, EDIT_STOP_AND_LIMIT, SYSTEM. */
  type: string;
  /** ACCEPTED, REJECTED, UNKNOWN. */
  status: string;
  channel?: string | undefined;
  description?: string | undefined;
  dealReference?: string | undefined;
  /** e.g. [{actionType: 'POSITION_PARTIALLY_CLOSED', affectedDealId: 'DIAAA...'}]. */
  actions: { actionType: string; affectedDealId?: string | undefined }[];
  direction?: Direction | undefined;
  size?: number | undefined;
  level?: number | undefined;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
}

/** Activity v3 `date` is UTC without a zone ("2022-01-03T15:01:48"). */
export function activityFromIg(a: IgActivity): ActivityRecord {
  const d = a.details ?? undefined;
  return {
    time: parseIgTime(a.date, 'activity.date'),
    dealId: a.dealId ?? undefined,
    market: a.epic ?? undefined,
    type: a.type,
    status: a.status,
    channel: a.channel ?? undefined,
    description: a.description ?? undefined,
    dealReference: d?.dealReference ?? undefined,
    actions: (d?.actions ?? []).map((x) => ({
      actionType: x.actionType,
      affectedDealId: x.affectedDealId ?? undefined,
    })),
    direction: d?.direction ?? undefined,
    size: opt(d?.size),
    level: opt(d?.level),
    stopLevel: opt(d?.stopLevel),
    limitLevel: opt(d?.limitLevel),
  };
}
