/**
 * The live broker: the engine's actions go to IG's REST API, and IG's answers come back as the
 * same events the simulated broker gives for the same situations (SPEC §2, §3.2).
 *
 * Sources of events, and how each close is reported exactly once:
 * - our own deals: the REST answer (the deal confirmation) is the event; its stream echoes are not.
 *   An OPEN update carrying one of our deal references is an echo. While one of our closes or
 *   amends of a deal is in flight, that deal's updates are held back, then replayed against the
 *   position as it stands after our deal settled: an echo then changes nothing (same size, same
 *   levels) and yields no event, while a close that was not ours (our close REJECTED because the
 *   stop filled first) still shows a size the position no longer has, and is reported.
 * - broker-side fills and changes made on IG's platform: the stream's position updates (OPU).
 * - a stop or limit reached by a tick without any close arriving (SPEC §3.2): after
 *   `settleAfterMs` the position is looked up, and if it is gone its exit comes from the history.
 * A deal id once reported closed is remembered, so a late update or history answer about it is
 * dropped.
 *
 * Level echoes: IG sends an UPDATED update for each amend, and they may arrive late (after the
 * next amend was confirmed). An update showing a stop/limit pair that trailguard itself set on the
 * position is therefore never news; only a pair we never set is reported as an amend. Nor is an
 * update IG sent before our latest amend executed (before that amend's own update, and not timed
 * after it): the amend replaced its levels on IG. A size between two the position had around our
 * partial close, from before that close, is a close made elsewhere before ours (decisions.md 51).
 */
import type { MarketConfig } from '../../domain/config.js';
import type { AmendStopAction, CloseAction, CloseCause, OpenAction, PositionOpenedEvent } from '../../domain/events.js';
import type { Direction, Tick } from '../../domain/types.js';
import { POINT_EPSILON } from '../../engine/numeric.js';
import type { Broker, BrokerAction, BrokerEvent, BrokerEventHandler } from '../../ports/broker.js';
import type { Clock } from '../../ports/clock.js';
import { findClose, type CloseRecord } from './history.js';
import {
  dealReferenceFor,
  ownOpenReference,
  strategyTag,
  inferCloseCause,
  positionDealIdOf,
  type DealConfirmation,
  type IgOpenPosition,
  type PositionUpdate,
} from './mapper.js';
import { IgDealRefused, IgDealRejected, type IgRestClient } from './rest-client.js';
import type { IgTradeEvent } from './stream.js';

export type IgBrokerLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface TimerHandle {
  cancel(): void;
}

export type SetTimer = (fn: () => void, ms: number) => TimerHandle;

export interface IgBrokerOptions {
  rest: IgRestClient;
  /** Markets of the configuration: their pointSize sets the tolerance of level comparisons. */
  markets: readonly MarketConfig[];
  clock: Clock;
  /**
   * Makes deal references unique across runs: an open's reference is `${runId}-${action.ref}` after
   * trailguard's mark (ownOpenReference; hashed by dealReferenceFor when that does not fit IG's
   * [A-Za-z0-9_-]{1,30}).
   */
  runId: string;
  /** The state directory's tag (stateDirTag), marked in every open's reference. */
  dirTag?: string | undefined;
  /** How long a stop or limit reached by a tick may wait for its close before IG is asked (SPEC §3.2) [10 s]. */
  settleAfterMs?: number;
  log?: (level: IgBrokerLogLevel, message: string) => void;
  /** Timer for the settle wait (tests inject one) [setTimeout, unref'd]. */
  setTimer?: SetTimer;
}

/** A position the broker follows (seeded by `track()` at start-up). */
export interface IgTrackedPosition {
  dealId: string;
  /** The market (IG epic). */
  epic: string;
  direction: Direction;
  size: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  /** Opening level and time: they let the history fallback find the position's close. */
  level?: number | undefined;
  openedAt?: number | undefined;
}

/** A stop or limit reached by a tick, waiting for its close. */
interface PendingHit {
  cause: 'stop' | 'limit';
  /** Where the simulated broker would have filled: the tick's favourable price, or the limit. */
  level: number;
  time: number;
  checks: number;
  timer: TimerHandle | undefined;
}

interface Tracked {
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  stopLevel: number | undefined;
  limitLevel: number | undefined;
  openLevel: number | undefined;
  openedAt: number | undefined;
  /** Stop/limit pairs trailguard set on this position (open, amends), newest last. */
  ownLevels: string[];
  /**
   * Sizes the position had before each of trailguard's partial closes, oldest first. IG sends an
   * update per deal, and one may arrive after the next deal was confirmed: showing a size the
   * position had before our own close, it is a late echo, not news (a deal's size never grows).
   */
  ownSizes: number[];
  /** IG's time of our latest partial close of it: an update timed after it is newer. */
  ownClosedAt: number | undefined;
  /**
   * Our latest confirmed amend, until the stream shows an update that is newer: updates IG sent
   * before it executed (held back while it was in flight, or late) show levels it replaced.
   */
  amended: AmendedLevels | undefined;
  hit: PendingHit | undefined;
}

interface AmendedLevels {
  key: string;
  stopLevel: number | undefined;
  limitLevel: number | undefined;
  /** IG's time of the amend (its confirm): an update timed after it is newer. */
  time: number;
  /** The levels the position had before it (what the amend meant to change). */
  stopBefore: number | undefined;
  limitBefore: number | undefined;
}

interface AmendEntry {
  seq: number;
  action: AmendStopAction;
  /** It left the process (got its trading slot); until then a later amend may replace it. */
  sent: boolean;
}

/** Our deals in flight for one deal id, and the stream updates held back meanwhile. */
interface DealWork {
  /** Closes, amends and history look-ups in flight: updates wait while > 0. */
  busy: number;
  closes: number;
  buffer: PositionUpdate[];
  /** Amends not yet reported, in the order they were submitted. */
  amends: AmendEntry[];
}

interface OpenRecord {
  action: OpenAction;
  dealReference: string;
  state: 'sending' | 'opened' | 'rejected' | 'unknown';
  /** What the stream said about it while the REST call was in flight. */
  update?: PositionUpdate | undefined;
  confirm?: DealConfirmation | undefined;
}

interface OpenFacts {
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  level: number;
  stopLevel: number | undefined;
  limitLevel: number | undefined;
  time: number;
}

const SIZE_EPSILON = 1e-9;
/** Remembered deal ids of closed positions and references of settled opens. */
const MEMORY = 2000;
/** Levels and sizes of our own deals remembered per position, to recognise their late echoes. */
const OWN_KEPT = 16;
/** History look-ups search this far around the moment of the close (IG's clock is not ours). */
const HISTORY_MARGIN_MS = 60_000;
/** Settle checks of one hit: the first, and one more after re-arming (SPEC §3.2). */
const SETTLE_CHECKS = 2;

const defaultTimer: SetTimer = (fn, ms) => {
  const handle = setTimeout(fn, ms);
  // a waiting settle must not keep a finished process alive: the stream does that while live
  handle.unref();
  return { cancel: () => clearTimeout(handle) };
};

function levelsKey(stopLevel: number | undefined, limitLevel: number | undefined): string {
  return `${stopLevel ?? '-'}|${limitLevel ?? '-'}`;
}

function roundSize(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class IgBroker implements Broker {
  private readonly rest: IgRestClient;
  private readonly clock: Clock;
  private readonly runId: string;
  private readonly dirTag: string | undefined;
  private readonly settleAfterMs: number;
  private readonly log: (level: IgBrokerLogLevel, message: string) => void;
  private readonly setTimer: SetTimer;
  private readonly eps = new Map<string, number>();
  /** Entry kind of each configured market: only `none` adopts a position opened elsewhere. */
  private readonly entryKinds = new Map<string, MarketConfig['entry']['kind']>();
  private handler: BrokerEventHandler = () => undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly work = new Map<string, DealWork>();
  private readonly opens = new Map<string, OpenRecord>();
  private opensSending = 0;
  /** Updates of deal ids not known yet, kept while an open of ours is in flight (it may be theirs). */
  private orphans: PositionUpdate[] = [];
  private readonly closed = new Set<string>();
  private readonly prices = new Map<string, { bid: number; ask: number }>();
  /** Per position, the time of the latest close reported to the engine (its row is written): lookUpClose skips those. */
  private readonly lastCloseAt = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private amendSeq = 0;

  constructor(options: IgBrokerOptions) {
    this.rest = options.rest;
    this.clock = options.clock;
    this.runId = options.runId;
    this.dirTag = options.dirTag;
    this.settleAfterMs = options.settleAfterMs ?? 10_000;
    this.log = options.log ?? (() => undefined);
    this.setTimer = options.setTimer ?? defaultTimer;
    for (const m of options.markets) {
      this.eps.set(m.market, POINT_EPSILON * m.pointSize);
      this.entryKinds.set(m.market, m.entry.kind);
    }
  }

  setEventHandler(handler: BrokerEventHandler): void {
    this.handler = handler;
  }

  /** Seeds a position at start-up (after recovery). No event: the engine restores it itself. */
  track(position: IgTrackedPosition): void {
    this.trackPosition(position);
  }

  /** The positions as the broker last knew them. */
  trackedPositions(): IgTrackedPosition[] {
    return [...this.tracked.values()].map((t) => ({
      dealId: t.dealId,
      epic: t.market,
      direction: t.direction,
      size: t.size,
      stopLevel: t.stopLevel,
      limitLevel: t.limitLevel,
      level: t.openLevel,
      openedAt: t.openedAt,
    }));
  }

  /** Cancels waiting settle timers (shutdown). In-flight requests are left to `drain()`. */
  dispose(): void {
    for (const t of this.tracked.values()) this.clearHit(t);
  }

  // ================================================================ ticks: SPEC §3.2

  onTick(tick: Tick): void {
    this.prices.set(tick.market, { bid: tick.bid, ask: tick.ask });
    const eps = this.epsOf(tick.market);
    for (const t of this.tracked.values()) {
      if (t.market === tick.market) this.withdrawReachedAmend(t, tick, eps);
    }
    for (const t of this.tracked.values()) {
      if (t.market !== tick.market || t.hit !== undefined) continue;
      // our own close of it is in flight: its answer settles the position
      if ((this.work.get(t.dealId)?.closes ?? 0) > 0) continue;
      const sign = t.direction === 'BUY' ? 1 : -1;
      const fav = sign > 0 ? tick.bid : tick.ask;
      // the simulated broker's comparisons (SPEC §3 step 1)
      let hit: { cause: 'stop' | 'limit'; level: number } | undefined;
      if (t.stopLevel !== undefined && sign * (fav - t.stopLevel) <= eps) hit = { cause: 'stop', level: fav };
      else if (t.limitLevel !== undefined && sign * (fav - t.limitLevel) >= -eps)
        hit = { cause: 'limit', level: t.limitLevel };
      if (hit === undefined) continue;
      t.hit = { ...hit, time: tick.time, checks: 0, timer: undefined };
      this.armSettle(t, t.hit);
    }
  }

  /**
   * A stop amend that has not left the process (it waits for its trading slot: IG's allowance is
   * paced) is not IG's stop, yet the engine took its level as the broker's when it sent it. When a
   * tick reaches that level, IG has no stop there to fill: the amend is taken back and reported
   * rejected before the engine sees the tick, so the engine is back on the stop IG has (or has on
   * the wire) and closes at market itself if the price is past its level (SPEC §3 step 2.7). The
   * events fire inside onTick, as the simulated broker's fills do. docs/decisions.md 50.
   */
  private withdrawReachedAmend(t: Tracked, tick: Tick, eps: number): void {
    const work = this.work.get(t.dealId);
    const latest = work?.amends[work.amends.length - 1];
    if (latest === undefined || latest.sent) return;
    const stop = latest.action.stopLevel;
    const sign = t.direction === 'BUY' ? 1 : -1;
    const fav = sign > 0 ? tick.bid : tick.ask;
    if (stop === undefined || sign * (fav - stop) > eps) return;
    this.withdrawUnsentAmends(
      t,
      tick.time,
      `the price (${fav}) reached ${stop} while the amend waited for IG's trading allowance`,
      'now',
    );
  }

  /**
   * Takes back the deal's amends that have not left the process and reports them rejected
   * (NOT_SENT): `now` (before the engine sees a tick), or `later`, off the caller's stack (submit).
   */
  private withdrawUnsentAmends(t: Tracked, time: number, why: string, deliver: 'now' | 'later'): void {
    const work = this.work.get(t.dealId);
    const latest = work?.amends[work.amends.length - 1];
    if (work === undefined || latest === undefined || latest.sent) return;
    if (!this.rest.withdrawAmend(t.dealId)) return;
    // The unsent ones: the latest and those it replaced (an amend on the wire goes on).
    const sentSeq = Math.max(0, ...work.amends.filter((e) => e.sent).map((e) => e.seq));
    const unsent = work.amends.filter((e) => e.seq > sentSeq);
    work.amends = work.amends.filter((e) => e.seq <= sentSeq);
    work.busy -= unsent.length;
    const reason = `NOT_SENT: ${why}; it was taken back, IG's stop is ${t.stopLevel ?? 'none'}`;
    this.log('warn', `amend ${latest.action.ref} of ${t.dealId} to ${latest.action.stopLevel ?? 'none'}: ${reason}`);
    for (const e of unsent) this.dropOwnLevels(e.action);
    const report = (): void => {
      try {
        // The engine undoes its stop in the reverse order it set it: the latest first.
        for (const e of [...unsent].reverse()) this.emit({ type: 'actionRejected', time, ref: e.action.ref, reason });
      } finally {
        this.release(t.dealId);
      }
    };
    if (deliver === 'now') report();
    else {
      work.busy += 1; // updates wait until the engine has heard
      this.run(`amends of ${t.dealId} taken back`, async () => {
        work.busy -= 1;
        report();
      });
    }
  }

  /**
   * A graceful stop: a stop or limit reached whose close has not arrived is asked about now,
   * once, rather than left to the next start (which could only record it as closed while away,
   * without the stop's reason). drain() waits for the answer.
   */
  settleHitsNow(): void {
    for (const t of this.tracked.values()) {
      const hit = t.hit;
      if (hit?.timer === undefined) continue;
      hit.timer.cancel();
      hit.timer = undefined;
      this.settleCheck(t, hit);
    }
  }

  private armSettle(t: Tracked, hit: PendingHit): void {
    hit.timer = this.setTimer(() => this.settleCheck(t, hit), this.settleAfterMs);
  }

  private clearHit(t: Tracked): void {
    t.hit?.timer?.cancel();
    t.hit = undefined;
  }

  /** No close arrived for a reached stop/limit: ask IG whether the position is still there. */
  private settleCheck(t: Tracked, hit: PendingHit): void {
    if (this.tracked.get(t.dealId) !== t || t.hit !== hit) return;
    hit.timer = undefined;
    hit.checks += 1;
    const current = (): boolean => this.tracked.get(t.dealId) === t && t.hit === hit;
    this.run(`settle of ${t.dealId}`, async () => {
      if ((this.work.get(t.dealId)?.closes ?? 0) > 0) {
        this.againOrGiveUp(t, hit, 'our own close of it is in flight');
        return;
      }
      let position: IgOpenPosition | undefined;
      try {
        position = await this.rest.getPosition(t.dealId);
      } catch (err) {
        if (current()) this.againOrGiveUp(t, hit, `IG could not be asked (${messageOf(err)})`);
        return;
      }
      if (!current()) return;
      if (position !== undefined) {
        this.reconcileLevels(t, position.stopLevel, position.limitLevel, this.clock.now());
        this.againOrGiveUp(t, hit, `IG still shows it open (size ${position.size})`);
        return;
      }
      let found: CloseRecord | undefined;
      try {
        found = await this.lookUpClose(t, hit.time, { full: true });
      } catch (err) {
        this.log('warn', `${t.dealId}: history look-up failed (${messageOf(err)})`);
      }
      if (!current() || (this.work.get(t.dealId)?.closes ?? 0) > 0) return;
      if (found === undefined && hit.checks < SETTLE_CHECKS) {
        this.log('warn', `${t.dealId} is closed on IG but its history does not show the close yet; asking again`);
        this.armSettle(t, hit);
        return;
      }
      const level = found?.level ?? hit.level;
      const time = found?.time ?? hit.time;
      if (found === undefined) {
        this.log(
          'error',
          `${t.dealId} is closed on IG and no history shows where: reporting the ${hit.cause} at ${level}`,
        );
      } else {
        this.log('info', `${t.dealId}: close settled from IG's ${found.source} at ${level}`);
      }
      const cause = this.causeOf(t, level, undefined, hit.cause);
      const size = t.size;
      this.untrack(t);
      this.emit({ type: 'positionClosed', time, dealId: t.dealId, size, level, cause });
    });
  }

  private againOrGiveUp(t: Tracked, hit: PendingHit, why: string): void {
    if (hit.checks < SETTLE_CHECKS) {
      this.log('info', `${t.dealId}: its ${hit.cause} was reached but ${why}; waiting again`);
      this.armSettle(t, hit);
      return;
    }
    this.log('warn', `${t.dealId}: its ${hit.cause} was reached but ${why}; no longer waiting for this hit`);
    if (t.hit === hit) t.hit = undefined;
  }

  /**
   * After the stream was down, the updates IG sent meanwhile are lost. Compares the positions this
   * broker follows with IG's list and reports what changed in the gap as the stream would have:
   * a position that shrank or whose levels changed goes through the same path as an UPDATED
   * update; a position that is gone is closed at its level from the history, with the cause the
   * levels in force give. Deals with our own work in flight are left to that work. Returns IG's
   * positions this broker does not follow, for the caller to report.
   */
  reconcileAfterGap(positions: readonly IgOpenPosition[]): IgOpenPosition[] {
    const atIg = new Map(positions.map((p) => [p.dealId, p]));
    const now = this.clock.now();
    for (const t of [...this.tracked.values()]) {
      const work = this.work.get(t.dealId);
      if (work !== undefined && (work.busy > 0 || work.closes > 0)) continue;
      const live = atIg.get(t.dealId);
      if (live === undefined) {
        this.closedInGap(t, now);
        continue;
      }
      // IG's list is the truth of now: no update of it is held back or older than our deals.
      this.apply(
        t,
        {
          dealId: t.dealId,
          market: t.market,
          direction: t.direction,
          status: 'UPDATED',
          dealStatus: 'ACCEPTED',
          level: live.level,
          size: live.size,
          stopLevel: live.stopLevel,
          limitLevel: live.limitLevel,
          time: now,
        },
        'gap',
      );
    }
    return positions.filter((p) => !this.tracked.has(p.dealId) && !this.closed.has(p.dealId));
  }

  private closedInGap(t: Tracked, now: number): void {
    const work = this.workOf(t.dealId);
    work.busy += 1; // updates arriving meanwhile wait for this close to be reported
    this.run(`close of ${t.dealId} during a stream gap`, async () => {
      try {
        const found = await this.lookUpClose(t, t.openedAt ?? now, { full: true }).catch((err: unknown) =>
          this.lookUpFailed(t.dealId, err),
        );
        if (this.tracked.get(t.dealId) !== t) return;
        const level = found?.level ?? this.favourable(t);
        if (level === undefined) {
          this.log('error', `${t.dealId} is gone from IG and neither its history nor a price says where: run sync`);
          return;
        }
        const cause = this.causeOf(t, level, undefined, undefined);
        const size = t.size;
        this.untrack(t);
        this.log('warn', `${t.dealId} was closed while the stream was down, at ${level}`);
        this.emit({ type: 'positionClosed', time: found?.time ?? now, dealId: t.dealId, size, level, cause });
      } finally {
        work.busy -= 1;
        this.release(t.dealId);
      }
    });
  }

  // ================================================================ actions

  submit(action: BrokerAction): void {
    switch (action.type) {
      case 'open':
        this.submitOpen(action);
        return;
      case 'amendStop':
        this.submitAmend(action);
        return;
      case 'close':
        this.submitClose(action);
        return;
      default: {
        const exhaustive: never = action;
        throw new Error(`unknown action ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  /**
   * A graceful stop: the amends still waiting for IG's trading allowance are taken back (NOT_SENT)
   * rather than sent after the trader asked live to stop; the positions keep the stops IG has.
   * Amends on the wire, opens and closes go on (drain() waits for them).
   */
  withdrawWaitingAmends(time: number): void {
    for (const t of this.tracked.values()) this.withdrawUnsentAmends(t, time, 'live is stopping', 'now');
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private submitOpen(action: OpenAction): void {
    // Marked as trailguard's own, so that a restart after a crash before the confirmation takes
    // the position over (reconcile) instead of leaving it unmanaged.
    const unique = `${this.runId}-${action.ref}`;
    const dealReference =
      ownOpenReference(unique, {
        virtual: action.virtual,
        atrStop: action.stopReason === 'ATR_STOP',
        strategyTag: strategyTag(action.strategy),
        dirTag: this.dirTag,
      }) ?? dealReferenceFor(unique);
    const record: OpenRecord = { action, dealReference, state: 'sending' };
    this.rememberOpen(record);
    this.opensSending += 1;
    this.run(`open ${action.ref} (${dealReference})`, async () => {
      try {
        const confirm = await this.rest.openPosition({
          epic: action.market,
          direction: action.direction,
          size: action.size,
          stopLevel: action.stopLevel,
          limitLevel: action.limitLevel,
          dealReference,
        });
        const facts = this.openFactsOf(confirm, action) ?? this.streamedOpen(record);
        if (facts === undefined) {
          this.openUnknown(record, 'IG accepted the open but named no deal id');
          return;
        }
        this.opened(record, facts);
      } catch (err) {
        const refused = this.refusal(err);
        if (refused !== undefined) {
          record.state = 'rejected';
          this.log('warn', `open ${action.ref} rejected by IG: ${refused.reason}`);
          this.emit({ type: 'actionRejected', time: refused.time, ref: action.ref, reason: refused.reason });
          return;
        }
        // The client sent it once and could not settle it; what the stream saw may still tell.
        const facts = this.streamedOpen(record);
        if (facts !== undefined) {
          this.log('warn', `open ${action.ref}: REST outcome unknown (${messageOf(err)}); the stream shows it opened`);
          this.opened(record, facts);
          return;
        }
        this.openUnknown(record, messageOf(err));
      } finally {
        this.opensSending -= 1;
        this.replayOrphans();
      }
    });
  }

  private openUnknown(record: OpenRecord, detail: string): void {
    record.state = 'unknown';
    const { action } = record;
    this.log('error', `open ${action.ref} (${record.dealReference}): outcome unknown — ${detail}; not re-sent`);
    this.emit({
      type: 'actionRejected',
      time: this.clock.now(),
      ref: action.ref,
      reason: `OUTCOME_UNKNOWN: ${detail}; the deal was not re-sent and will be reconciled from IG's positions (reference ${record.dealReference})`,
    });
  }

  private openFactsOf(confirm: DealConfirmation, action: OpenAction): OpenFacts | undefined {
    const dealId = confirm.dealId ?? positionDealIdOf(confirm);
    if (dealId === undefined) return undefined;
    return {
      dealId,
      market: confirm.market ?? action.market,
      direction: confirm.direction ?? action.direction,
      size: confirm.size ?? action.size,
      level: confirm.level ?? action.expectedLevel,
      stopLevel: confirm.stopLevel,
      limitLevel: confirm.limitLevel,
      time: confirm.time,
    };
  }

  /** The stream's word on one of our opens: its CONFIRMS, else its OPEN update. */
  private streamedOpen(record: OpenRecord): OpenFacts | undefined {
    const c = record.confirm;
    if (c !== undefined && c.dealStatus === 'ACCEPTED') {
      const facts = this.openFactsOf(c, record.action);
      if (facts !== undefined) return facts;
    }
    const u = record.update;
    if (u === undefined) return undefined;
    return {
      dealId: u.dealId,
      market: u.market,
      direction: u.direction,
      size: u.size,
      level: u.level,
      stopLevel: u.stopLevel,
      limitLevel: u.limitLevel,
      time: u.time,
    };
  }

  private opened(record: OpenRecord, facts: OpenFacts): void {
    const wasUnknown = record.state === 'unknown' || record.state === 'rejected';
    record.state = 'opened';
    if (this.tracked.has(facts.dealId) || this.closed.has(facts.dealId)) return; // reported already
    this.trackFacts(facts);
    const { action } = record;
    if (wasUnknown) this.log('warn', `open ${action.ref} (${record.dealReference}) did happen: ${facts.dealId}`);
    const event: PositionOpenedEvent = { type: 'positionOpened', ...facts, ref: action.ref, strategy: action.strategy };
    this.emit(event);
  }

  private submitAmend(action: AmendStopAction): void {
    const work = this.workOf(action.dealId);
    const entry: AmendEntry = { seq: ++this.amendSeq, action, sent: false };
    work.busy += 1;
    work.amends.push(entry);
    const t = this.tracked.get(action.dealId);
    if (t !== undefined) this.addOwnLevels(t, levelsKey(action.stopLevel, action.limitLevel));
    this.run(`amend ${action.ref} of ${action.dealId}`, async () => {
      let confirm: DealConfirmation;
      try {
        const outcome = await this.rest.amendPosition(
          action.dealId,
          { stopLevel: action.stopLevel, limitLevel: action.limitLevel },
          () => {
            entry.sent = true;
          },
        );
        // A later amend replaced this one before it was sent: that one's outcome is this one's.
        // One withdrawn (onTick) was reported then.
        if (outcome.status !== 'sent') return;
        confirm = outcome.result;
      } catch (err) {
        const refused = this.refusal(err);
        const rejected = refused !== undefined;
        const reason = refused?.reason ?? `OUTCOME_UNKNOWN: ${messageOf(err)}`;
        const time = refused?.time ?? this.clock.now();
        this.log(rejected ? 'warn' : 'error', `amend ${action.ref} of ${action.dealId} failed: ${reason}`);
        if (!rejected) this.dropOwnLevels(action);
        this.settleAmends(work, entry, (covered) => {
          // The engine undoes its stop in the reverse order it set it: the latest first.
          this.emit({ type: 'actionRejected', time, ref: action.ref, reason });
          for (const e of [...covered].reverse()) {
            this.emit({
              type: 'actionRejected',
              time,
              ref: e.action.ref,
              reason: `superseded by amend ${action.ref}, which failed: ${reason}`,
            });
          }
        });
        return;
      }
      const tracked = this.tracked.get(action.dealId);
      const stopLevel = confirm.stopLevel ?? action.stopLevel;
      const limitLevel = confirm.limitLevel ?? action.limitLevel;
      if (tracked !== undefined) {
        tracked.amended = {
          key: levelsKey(stopLevel, limitLevel),
          stopLevel,
          limitLevel,
          time: confirm.time,
          stopBefore: tracked.stopLevel,
          limitBefore: tracked.limitLevel,
        };
        tracked.stopLevel = stopLevel;
        tracked.limitLevel = limitLevel;
        this.addOwnLevels(tracked, levelsKey(stopLevel, limitLevel));
      }
      this.settleAmends(work, entry, (covered) => {
        for (const e of [...covered, entry]) {
          this.emit({
            type: 'positionAmended',
            time: confirm.time,
            ref: e.action.ref,
            dealId: action.dealId,
            stopLevel,
            limitLevel,
          });
        }
      });
    });
  }

  /**
   * Reports an amend and every earlier one it covers (superseded amends wait for the amend that
   * replaced them), then lets the deal's held-back updates through.
   */
  private settleAmends(work: DealWork, entry: AmendEntry, report: (covered: AmendEntry[]) => void): void {
    const covered = work.amends.filter((e) => e.seq < entry.seq);
    work.amends = work.amends.filter((e) => e.seq > entry.seq);
    work.busy -= covered.length + 1;
    try {
      report(covered);
    } finally {
      this.release(entry.action.dealId);
    }
  }

  private submitClose(action: CloseAction): void {
    const t = this.tracked.get(action.dealId);
    // A stop amend still waiting for its slot is no use to a position closed in full.
    if (t !== undefined && action.size >= t.size - SIZE_EPSILON) {
      this.withdrawUnsentAmends(t, this.clock.now(), 'a close of the position went first', 'later');
    }
    const work = this.workOf(action.dealId);
    work.busy += 1;
    work.closes += 1;
    const sentAt = this.clock.now();
    this.run(`close ${action.ref} of ${action.dealId}`, async () => {
      let after: BrokerEvent | undefined;
      try {
        const confirm = await this.rest.closePosition({
          dealId: action.dealId,
          direction: action.direction,
          size: action.size,
        });
        const t = this.tracked.get(action.dealId);
        const size = Math.min(confirm.size ?? action.size, t?.size ?? Number.POSITIVE_INFINITY);
        const level = confirm.level ?? (await this.fallbackLevel(action, t, sentAt));
        const full =
          confirm.status === 'CLOSED' ||
          confirm.affectedDeals.some((d) => d.dealId === action.dealId && d.status === 'FULLY_CLOSED') ||
          (t !== undefined && size >= t.size - SIZE_EPSILON);
        if (t !== undefined && !full) {
          t.ownSizes.push(t.size);
          if (t.ownSizes.length > OWN_KEPT) t.ownSizes.shift();
          t.size = roundSize(t.size - size);
          t.ownClosedAt = confirm.time;
        } else if (t !== undefined) this.untrack(t);
        else if (full) this.rememberClosed(action.dealId);
        this.emit({
          type: 'positionClosed',
          time: confirm.time,
          ref: action.ref,
          dealId: action.dealId,
          size,
          level,
          cause: 'action',
        });
      } catch (err) {
        const refused = this.refusal(err);
        if (refused !== undefined) {
          this.log('warn', `close ${action.ref} of ${action.dealId} rejected by IG: ${refused.reason}`);
          after = { type: 'actionRejected', time: refused.time, ref: action.ref, reason: refused.reason };
        } else if (!(await this.closeSeenOnStream(action, work))) {
          this.log(
            'error',
            `close ${action.ref} of ${action.dealId}: outcome unknown (${messageOf(err)}); not re-sent`,
          );
          after = {
            type: 'actionRejected',
            time: this.clock.now(),
            ref: action.ref,
            reason: `OUTCOME_UNKNOWN: ${messageOf(err)}; the close was not re-sent and will be reconciled from IG's positions`,
          };
        }
      } finally {
        work.busy -= 1;
        work.closes -= 1;
        // A close that was not ours (the stop filled first) is in the held-back updates: report
        // it before the rejection, so the engine books the stop rather than retrying a close.
        this.release(action.dealId);
        if (after !== undefined) this.emit(after);
      }
    });
  }

  /**
   * Our close's REST answer was lost, but a held-back update shows the position shrinking at a
   * level that is no stop or limit of it: that is our close. Reported as ours; true if so.
   */
  private async closeSeenOnStream(action: CloseAction, work: DealWork): Promise<boolean> {
    const t = this.tracked.get(action.dealId);
    if (t === undefined) return false;
    const u = work.buffer.find(
      (x) => x.status === 'DELETED' || (x.status === 'UPDATED' && x.size < t.size - SIZE_EPSILON),
    );
    if (u === undefined) return false;
    const level =
      u.status === 'DELETED' || (t.openLevel !== undefined && u.level !== t.openLevel)
        ? u.level
        : ((
            await this.lookUpClose(t, u.time, { size: roundSize(t.size - u.size) }).catch((err: unknown) =>
              this.lookUpFailed(t.dealId, err),
            )
          )?.level ??
          this.favourable(t) ??
          u.level);
    if (this.tracked.get(action.dealId) !== t || this.causeOf(t, level, undefined, undefined) !== 'external') {
      return false;
    }
    work.buffer.splice(work.buffer.indexOf(u), 1);
    const size = u.status === 'DELETED' ? t.size : roundSize(t.size - u.size);
    if (u.status === 'DELETED') this.untrack(t);
    else t.size = u.size;
    this.log(
      'warn',
      `close ${action.ref} of ${action.dealId}: REST outcome unknown; the stream shows it done at ${level}`,
    );
    this.emit({
      type: 'positionClosed',
      time: u.time,
      ref: action.ref,
      dealId: action.dealId,
      size,
      level,
      cause: 'action',
    });
    return true;
  }

  /** An accepted close without a level (should not happen): the history, else the market's price. */
  private async fallbackLevel(action: CloseAction, t: Tracked | undefined, sentAt: number): Promise<number> {
    const found = await findClose(this.rest, {
      dealId: action.dealId,
      since: sentAt - HISTORY_MARGIN_MS,
      until: this.clock.now() + HISTORY_MARGIN_MS,
      prefer: { size: action.size },
      position: t === undefined ? undefined : { openLevel: t.openLevel, openedAt: t.openedAt },
    }).catch((err: unknown) => this.lookUpFailed(action.dealId, err));
    const price = this.prices.get(action.market);
    const level =
      found?.level ?? (price === undefined ? undefined : action.direction === 'BUY' ? price.bid : price.ask);
    this.log(
      'error',
      `close ${action.ref} of ${action.dealId}: IG's confirm has no level; using ${level ?? 'the opening level'}`,
    );
    return level ?? t?.openLevel ?? Number.NaN;
  }

  // ================================================================ stream

  /** Feed from IgStream's onTradeEvent (the live service wires stream → broker). */
  onTradeEvent(event: IgTradeEvent): void {
    if (event.kind === 'confirm') {
      this.onStreamConfirm(event.confirm);
      return;
    }
    this.onPositionUpdate(event.update);
  }

  /**
   * CONFIRMS settle our deals' REST calls (IgRestClient.offerConfirm); here they matter only for our
   * opens whose REST answer is missing.
   */
  private onStreamConfirm(confirm: DealConfirmation): void {
    // Every deal's REST call takes its confirm from here first (no GET /confirms read).
    this.rest.offerConfirm(confirm);
    const record = this.opens.get(confirm.dealReference);
    if (record === undefined) return;
    if (record.state === 'sending') {
      record.confirm = confirm;
      return;
    }
    if (record.state === 'unknown' && confirm.dealStatus === 'ACCEPTED') {
      const facts = this.openFactsOf(confirm, record.action);
      if (facts !== undefined) this.opened(record, facts);
    }
  }

  private onPositionUpdate(update: PositionUpdate): void {
    // a rejected deal's update: the deal's confirm reports it
    if (update.dealStatus !== 'ACCEPTED') return;
    if (update.status === 'OPEN') {
      this.onOpenUpdate(update);
      return;
    }
    this.dispatch(update);
  }

  private onOpenUpdate(update: PositionUpdate): void {
    if (this.tracked.has(update.dealId) || this.closed.has(update.dealId)) return; // an echo
    const record = update.dealReference === undefined ? undefined : this.opens.get(update.dealReference);
    const facts: OpenFacts = {
      dealId: update.dealId,
      market: update.market,
      direction: update.direction,
      size: update.size,
      level: update.level,
      stopLevel: update.stopLevel,
      limitLevel: update.limitLevel,
      time: update.time,
    };
    if (record !== undefined) {
      if (record.state === 'sending') {
        record.update = update; // the REST answer reports it
        return;
      }
      if (record.state === 'opened') return;
      // 'unknown' (or, oddly, 'rejected'): the account has it, so the engine must know it
      this.opened(record, facts);
      return;
    }
    // Opened on IG's platform: adopted on a market whose entry kind is none, as at start-up
    // (reconcile); on another configured market it is the trader's own, reported and left alone.
    const kind = this.entryKinds.get(update.market);
    if (kind !== undefined && kind !== 'none') {
      this.log(
        'warn',
        `${update.dealId} is not managed: opened outside trailguard (${update.direction} ${update.size} ${update.market}) and the market's entry kind is ${kind} (only kind none adopts)`,
      );
      return;
    }
    // The engine adopts it if its market is configured.
    this.trackFacts(facts);
    this.log(
      'info',
      `${update.dealId}: opened outside trailguard (${update.direction} ${update.size} ${update.market})`,
    );
    this.emit({ type: 'positionOpened', ...facts });
  }

  /** An UPDATED/DELETED update: held back, applied, or dropped. */
  private dispatch(update: PositionUpdate): void {
    if (this.closed.has(update.dealId)) return; // reported closed already: a late echo
    const work = this.work.get(update.dealId);
    if (work !== undefined && work.busy > 0) {
      work.buffer.push(update);
      return;
    }
    const t = this.tracked.get(update.dealId);
    if (t === undefined) {
      if (this.opensSending > 0) this.orphans.push(update);
      else this.log('debug', `${update.dealId}: update of an unknown position ignored`);
      return;
    }
    this.apply(t, update);
  }

  private replayOrphans(): void {
    const orphans = this.orphans;
    this.orphans = [];
    for (const u of orphans) this.dispatch(u);
  }

  /** Lets a deal's held-back updates through once none of our work on it is in flight. */
  private release(dealId: string): void {
    const work = this.work.get(dealId);
    if (work === undefined) return;
    while (work.busy === 0 && work.buffer.length > 0) {
      const u = work.buffer.shift() as PositionUpdate;
      if (this.closed.has(u.dealId)) continue;
      const t = this.tracked.get(u.dealId);
      if (t === undefined) this.log('debug', `${u.dealId}: update of an unknown position ignored`);
      else this.apply(t, u);
    }
    if (work.busy === 0 && work.buffer.length === 0 && work.amends.length === 0) this.work.delete(dealId);
  }

  /**
   * A position update that is news, or an echo that changes nothing. `gap`: made up from IG's
   * position list after a stream gap (its levels are IG's now; a partial close is dated from the
   * history, since the update's time is only when the stream came back).
   */
  private apply(t: Tracked, u: PositionUpdate, from: 'stream' | 'gap' = 'stream'): void {
    if (u.status === 'DELETED') {
      const cause = this.causeOf(t, u.level, u, undefined);
      const size = t.size;
      this.untrack(t);
      this.emit({ type: 'positionClosed', time: u.time, dealId: t.dealId, size, level: u.level, cause });
      return;
    }
    if (u.status !== 'UPDATED') return;
    let closed = 0;
    if (u.size < t.size - SIZE_EPSILON) {
      closed = roundSize(t.size - u.size);
      t.size = u.size;
    } else if (u.size > t.size + SIZE_EPSILON) {
      if (t.ownSizes.some((size) => Math.abs(size - u.size) <= SIZE_EPSILON)) {
        this.log('debug', `${t.dealId}: size ${u.size} is from before our partial close (a late echo)`);
        return;
      }
      // A deal's size never grows: an update sent before our latest partial close executed, with a
      // size below one the position had before one of our closes, shows a close made elsewhere
      // before ours (a trader's, crossing our rung). IG holds what that leaves after ours.
      const before = Math.min(...t.ownSizes.filter((size) => size > u.size + SIZE_EPSILON));
      if (Number.isFinite(before) && t.ownClosedAt !== undefined && u.time <= t.ownClosedAt) {
        closed = Math.min(roundSize(before - u.size), t.size);
        t.size = roundSize(t.size - closed);
        t.ownSizes.push(u.size);
        if (t.ownSizes.length > OWN_KEPT) t.ownSizes.shift();
        this.log(
          'info',
          `${t.dealId}: ${closed} of it was closed on IG before our partial close (size ${u.size} after it); IG holds ${t.size}`,
        );
      } else {
        this.log('warn', `${t.dealId}: IG reports size ${u.size}, more than the ${t.size} known; following IG`);
        t.size = u.size;
      }
    }
    if (closed > 0) {
      // IG's UPDATED after a partial close carries the OPENING level: the fill level is in the history.
      if (from === 'stream' && t.openLevel !== undefined && u.level !== t.openLevel) {
        this.emit({
          type: 'positionClosed',
          time: u.time,
          dealId: t.dealId,
          size: closed,
          level: u.level,
          cause: 'external',
        });
      } else {
        this.partialFromHistory(t, u, closed, from);
        return; // the level change, if any, is applied after the close is reported
      }
    }
    this.applyLevels(t, u, from);
  }

  private partialFromHistory(t: Tracked, u: PositionUpdate, closed: number, from: 'stream' | 'gap'): void {
    const work = this.workOf(t.dealId);
    work.busy += 1;
    this.run(`partial close of ${t.dealId}`, async () => {
      let found: CloseRecord | undefined;
      try {
        // after a gap, the close may be as old as the position
        // A close reported before (its row is written) is never this one: an earlier partial of
        // the same size would otherwise be taken for the close made in the gap.
        found = await this.lookUpClose(
          t,
          from === 'gap' ? (t.openedAt ?? u.time) : u.time,
          { size: closed },
          from === 'gap' ? this.lastCloseAt.get(t.dealId) : undefined,
        );
      } catch (err) {
        this.log('warn', `${t.dealId}: history look-up of a partial close failed (${messageOf(err)})`);
      }
      try {
        let level = found?.level;
        if (level === undefined) {
          level = this.favourable(t) ?? u.level;
          this.log('warn', `${t.dealId}: no history of its partial close of ${closed}; reporting it at ${level}`);
        }
        // the stream's update is timed by IG; one made up after a gap is not: the history's time is IG's
        const time = from === 'gap' ? (found?.time ?? u.time) : u.time;
        if (from === 'gap')
          this.log('warn', `${t.dealId}: ${closed} of it was closed while the stream was down, at ${level}`);
        this.emit({ type: 'positionClosed', time, dealId: t.dealId, size: closed, level, cause: 'external' });
        if (this.tracked.get(t.dealId) === t) this.applyLevels(t, u, from);
      } finally {
        work.busy -= 1;
        this.release(t.dealId);
      }
    });
  }

  /**
   * Levels from IG's stream: an echo of levels we set is dropped, and so are levels of an update
   * IG sent before our latest amend executed (that amend replaced them: IG has its levels); others
   * are reported (the broker's levels win). Levels read from IG (`gap`) are taken as they are.
   */
  private applyLevels(t: Tracked, u: PositionUpdate, from: 'stream' | 'gap'): void {
    const { stopLevel, limitLevel } = u;
    const key = levelsKey(stopLevel, limitLevel);
    if (from === 'gap') {
      t.amended = undefined;
      this.takeLevels(t, stopLevel, limitLevel, u.time);
      return;
    }
    const amended = t.amended;
    if (amended !== undefined) {
      if (key === amended.key)
        t.amended = undefined; // its echo: what follows is newer
      else if (u.time <= amended.time) {
        this.replacedByOurAmend(t, u, amended);
        return;
      } else t.amended = undefined;
    }
    if (key === levelsKey(t.stopLevel, t.limitLevel)) return;
    if (t.ownLevels.includes(key)) {
      this.log('debug', `${t.dealId}: levels ${key} are ours (an echo)`);
      return;
    }
    this.takeLevels(t, stopLevel, limitLevel, u.time);
  }

  private takeLevels(t: Tracked, stopLevel: number | undefined, limitLevel: number | undefined, time: number): void {
    if (levelsKey(stopLevel, limitLevel) === levelsKey(t.stopLevel, t.limitLevel)) return;
    t.stopLevel = stopLevel;
    t.limitLevel = limitLevel;
    this.emit({ type: 'positionAmended', time, dealId: t.dealId, stopLevel, limitLevel });
  }

  /**
   * An update older than our latest amend: IG applied that amend after it, and an amend replaces
   * both levels, so IG has the amend's. Levels set on IG's platform meanwhile are lost on IG: said,
   * loudly when that loosened the trader's stop or removed or moved the trader's limit.
   */
  private replacedByOurAmend(t: Tracked, u: PositionUpdate, amended: AmendedLevels): void {
    const key = levelsKey(u.stopLevel, u.limitLevel);
    if (t.ownLevels.includes(key) || key === levelsKey(amended.stopBefore, amended.limitBefore)) {
      this.log('debug', `${t.dealId}: levels ${key} are from before our amend to ${amended.key}`);
      return;
    }
    const sign = t.direction === 'BUY' ? 1 : -1;
    const eps = this.epsOf(t.market);
    const lost: string[] = [];
    if (
      u.stopLevel !== undefined &&
      u.stopLevel !== amended.stopBefore &&
      (amended.stopLevel === undefined || sign * (u.stopLevel - amended.stopLevel) > eps)
    ) {
      lost.push(`its stop is ${amended.stopLevel ?? 'none'}, looser than the ${u.stopLevel} set there`);
    }
    if (u.limitLevel !== amended.limitBefore && u.limitLevel !== amended.limitLevel) {
      lost.push(`its limit is ${amended.limitLevel ?? 'none'}, not the ${u.limitLevel ?? 'none'} set there`);
    }
    const what = `${t.dealId}: levels ${key} were set on IG's platform while our amend to ${amended.key} was in flight, and IG applied our amend after them`;
    if (lost.length === 0) this.log('info', `${what} (it is the tighter stop)`);
    else this.log('warn', `${what}: ${lost.join('; ')}. Set them again on IG if you want them`);
  }

  /** Levels read from GET /positions/{dealId} (settle check). */
  private reconcileLevels(
    t: Tracked,
    stopLevel: number | undefined,
    limitLevel: number | undefined,
    time: number,
  ): void {
    if ((this.work.get(t.dealId)?.busy ?? 0) > 0) return; // our amend in flight decides
    // IG's levels as read now: never an echo, nor older than our amends
    t.amended = undefined;
    this.takeLevels(t, stopLevel, limitLevel, time);
  }

  // ================================================================ helpers

  /**
   * A deal IG did not make: rejected in its confirmation, or its request refused outright (an
   * HTTP 4xx with an IG error code, e.g. error.service.otc.market.closed). Anything else, a failed
   * read while settling it included, leaves its outcome unknown.
   */
  private refusal(err: unknown): { reason: string; time: number } | undefined {
    if (err instanceof IgDealRejected) return { reason: err.confirm.reason ?? 'REJECTED', time: err.confirm.time };
    if (err instanceof IgDealRefused) {
      const code = err.code ?? err.message;
      return { reason: err.explanation === undefined ? code : `${code}: ${err.explanation}`, time: this.clock.now() };
    }
    return undefined;
  }

  /**
   * Why a position closed without our close (SPEC §4.8 via the engine): at or beyond the stop →
   * stop; at or beyond the limit → limit; otherwise what the tick saw (settle path) or the
   * update's channel says, else external.
   */
  private causeOf(
    t: Tracked,
    level: number,
    update: PositionUpdate | undefined,
    reached: 'stop' | 'limit' | undefined,
  ): CloseCause {
    const eps = this.epsOf(t.market);
    const sign = t.direction === 'BUY' ? 1 : -1;
    if (t.stopLevel !== undefined && sign * (level - t.stopLevel) <= eps) return 'stop';
    if (t.limitLevel !== undefined && sign * (level - t.limitLevel) >= -eps) return 'limit';
    if (reached !== undefined) return reached;
    // the stop/limit known here may be stale; IG's order-server channel still says "a fill"
    if (update !== undefined) return inferCloseCause(update, undefined);
    return 'external';
  }

  private lookUpClose(
    t: Tracked,
    around: number,
    prefer: { full?: boolean; size?: number },
    after?: number,
  ): Promise<CloseRecord | undefined> {
    return findClose(this.rest, {
      dealId: t.dealId,
      since: around - HISTORY_MARGIN_MS,
      until: Math.max(around, this.clock.now()) + HISTORY_MARGIN_MS,
      prefer,
      position: { openLevel: t.openLevel, openedAt: t.openedAt },
      after,
    });
  }

  /** A failed history look-up is not fatal: the caller falls back to the price it knows. */
  private lookUpFailed(dealId: string, err: unknown): undefined {
    this.log('warn', `${dealId}: history look-up failed (${messageOf(err)})`);
    return undefined;
  }

  private favourable(t: Tracked): number | undefined {
    const price = this.prices.get(t.market);
    if (price === undefined) return undefined;
    return t.direction === 'BUY' ? price.bid : price.ask;
  }

  private trackPosition(position: IgTrackedPosition): Tracked {
    const existing = this.tracked.get(position.dealId);
    if (existing !== undefined) this.clearHit(existing);
    const t: Tracked = {
      dealId: position.dealId,
      market: position.epic,
      direction: position.direction,
      size: position.size,
      stopLevel: position.stopLevel,
      limitLevel: position.limitLevel,
      openLevel: position.level,
      openedAt: position.openedAt,
      ownLevels: [levelsKey(position.stopLevel, position.limitLevel)],
      ownSizes: [],
      ownClosedAt: undefined,
      amended: undefined,
      hit: undefined,
    };
    this.closed.delete(position.dealId);
    this.tracked.set(t.dealId, t);
    return t;
  }

  private trackFacts(facts: OpenFacts): Tracked {
    return this.trackPosition({
      dealId: facts.dealId,
      epic: facts.market,
      direction: facts.direction,
      size: facts.size,
      stopLevel: facts.stopLevel,
      limitLevel: facts.limitLevel,
      level: facts.level,
      openedAt: facts.time,
    });
  }

  private untrack(t: Tracked): void {
    this.clearHit(t);
    if (this.tracked.get(t.dealId) === t) this.tracked.delete(t.dealId);
    this.rememberClosed(t.dealId);
  }

  private addOwnLevels(t: Tracked, key: string): void {
    const i = t.ownLevels.indexOf(key);
    if (i >= 0) t.ownLevels.splice(i, 1);
    t.ownLevels.push(key);
    if (t.ownLevels.length > OWN_KEPT) t.ownLevels.shift();
  }

  /** An amend whose outcome is unknown: if IG shows its levels later, that is news. */
  private dropOwnLevels(action: AmendStopAction): void {
    const t = this.tracked.get(action.dealId);
    if (t === undefined) return;
    const key = levelsKey(action.stopLevel, action.limitLevel);
    if (key === levelsKey(t.stopLevel, t.limitLevel)) return;
    const i = t.ownLevels.indexOf(key);
    if (i >= 0) t.ownLevels.splice(i, 1);
  }

  private workOf(dealId: string): DealWork {
    let work = this.work.get(dealId);
    if (work === undefined) {
      work = { busy: 0, closes: 0, buffer: [], amends: [] };
      this.work.set(dealId, work);
    }
    return work;
  }

  private epsOf(market: string): number {
    return this.eps.get(market) ?? POINT_EPSILON;
  }

  private rememberClosed(dealId: string): void {
    this.closed.add(dealId);
    if (this.closed.size <= MEMORY) return;
    for (const k of this.closed) {
      this.closed.delete(k);
      if (this.closed.size <= MEMORY) break;
    }
  }

  /** Settled opens are forgotten oldest first; one still sending is kept. */
  private rememberOpen(record: OpenRecord): void {
    this.opens.set(record.dealReference, record);
    if (this.opens.size <= MEMORY) return;
    for (const [k, r] of this.opens) {
      if (this.opens.size <= MEMORY) break;
      if (r.state !== 'sending') this.opens.delete(k);
    }
  }

  /** Runs async work off the caller's stack (events never fire inside submit/onTick); drain() waits for it. */
  private run(label: string, work: () => Promise<void>): void {
    const p: Promise<void> = Promise.resolve()
      .then(work)
      .catch((err: unknown) => this.log('error', `${label}: ${messageOf(err)}`))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * A close of the position already journaled (by an earlier run, or written by reconciliation):
   * a close looked up in IG's history after a gap is never that one.
   */
  rememberCloseAt(dealId: string, time: number): void {
    if (!((this.lastCloseAt.get(dealId) ?? -Infinity) >= time)) this.lastCloseAt.set(dealId, time);
  }

  private emit(event: BrokerEvent): void {
    if (event.type === 'positionClosed') this.rememberCloseAt(event.dealId, event.time);
    this.handler(event);
  }
}
