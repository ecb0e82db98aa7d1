/**
 * Where and when a position was closed, from IG's account history. Used when no deal
 * confirmation or stream update tells: a broker-side fill whose update never arrived (SPEC §3.2,
 * the 10 s settle), the fill level of a partial close (its OPU carries the opening level), and
 * start-up recovery of positions closed while trailguard was down.
 *
 * IG facts (https://labs.ig.com/reference/history-activity-v3.html,
 * https://labs.ig.com/reference/history-transactions-v2.html):
 * - GET /history/activity v3 (detailed) lists the closing deal as an activity of its own: its
 *   `dealId` is the closing deal's, and `details.actions[].affectedDealId` names the position
 *   (actionType POSITION_CLOSED or POSITION_PARTIALLY_CLOSED); `details.level` is the fill level,
 *   `details.size` the size closed. The rest client's close settlement reads it the same way.
 * - GET /history/transactions v2 does not name the position at all: only its opening date and
 *   level, the close level and a signed size. It is a fallback, matched on the opening facts.
 * - Both have whole-second dates.
 */
import { BrokerRejected, BrokerUnavailable } from '../../domain/errors.js';
import type { ActivityRecord, TransactionRecord } from './mapper.js';
import type { IgRestClient } from './rest-client.js';

/** The two history reads findClose needs (the rest client, or a stand-in in tests). */
export type IgHistorySource = Pick<IgRestClient, 'getActivity' | 'getTransactions'>;

export interface CloseRecord {
  /** Fill level of the close. */
  level: number;
  /** Epoch ms (IG's history has whole seconds). */
  time: number;
  /** Size closed, when the history says. */
  size?: number | undefined;
  /** True for a full close, false for a partial one, undefined when the source does not say. */
  full?: boolean | undefined;
  source: 'activity' | 'transactions';
}

export interface FindCloseQuery {
  /** The position's deal id. */
  dealId: string;
  /** Epoch ms: the close happened at or after this. */
  since: number;
  /** Epoch ms: the close happened at or before this. */
  until: number;
  /**
   * Which close is wanted when the deal has several (partial closes): `full` prefers the one that
   * closed it, a `size` prefers closes of that size; otherwise, and among equals, the latest.
   */
  prefer?: { full?: boolean | undefined; size?: number | undefined } | undefined;
  /**
   * The position's opening facts, for the transactions fallback (transactions carry no deal id).
   * Without an opening level or time the fallback is not tried: it could match another position.
   */
  position?: { openLevel?: number | undefined; openedAt?: number | undefined } | undefined;
  /** Epoch ms: closes at or before this are already known (journaled): never picked. */
  after?: number | undefined;
}

const CLOSE_ACTIONS = new Set(['POSITION_CLOSED', 'POSITION_PARTIALLY_CLOSED']);
const SIZE_EPSILON = 1e-9;
/** IG's history dates are whole seconds: widen the window by one on each side. */
const SECOND = 1000;

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Every close (full or partial) of `query.dealId` in the activity list, oldest first. */
function closesFromActivity(activities: readonly ActivityRecord[], query: FindCloseQuery): CloseRecord[] {
  const candidates: CloseRecord[] = [];
  // IG lists activity newest first, in whole seconds: read oldest first, so that closes within
  // one second keep IG's order through the (stable) sort below, and the full close comes last.
  for (const a of [...activities].reverse()) {
    if (a.status !== 'ACCEPTED' || a.level === undefined) continue;
    if (a.time < query.since - SECOND || a.time > query.until + SECOND) continue;
    // Mostly the closing deal's activity names the position in affectedDealId; an activity with
    // the position's own dealId and a close action counts too (IG's samples show both shapes).
    const action = a.actions.find(
      (x) =>
        CLOSE_ACTIONS.has(x.actionType) &&
        (x.affectedDealId === query.dealId || (x.affectedDealId === undefined && a.dealId === query.dealId)),
    );
    if (action === undefined) continue;
    candidates.push({
      level: a.level,
      time: a.time,
      size: a.size === undefined ? undefined : Math.abs(a.size),
      full: action.actionType === 'POSITION_CLOSED',
      source: 'activity',
    });
  }
  return candidates.sort((a, b) => a.time - b.time);
}

/** Every close of the position described by `query.position` in the transaction list, oldest first. */
function closesFromTransactions(transactions: readonly TransactionRecord[], query: FindCloseQuery): CloseRecord[] {
  const openLevel = query.position?.openLevel;
  const openedAt = query.position?.openedAt;
  if (openLevel === undefined && openedAt === undefined) return [];
  const candidates: CloseRecord[] = [];
  // Newest first from IG, as the activity: read oldest first.
  for (const t of [...transactions].reverse()) {
    if (t.type !== 'DEAL' || t.closeLevel === undefined) continue;
    if (t.closedAt < query.since - SECOND || t.closedAt > query.until + SECOND) continue;
    if (openLevel !== undefined && (t.openLevel === undefined || !sameNumber(t.openLevel, openLevel))) continue;
    // transaction dates have whole seconds
    if (openedAt !== undefined && (t.openedAt === undefined || Math.abs(t.openedAt - openedAt) >= SECOND)) continue;
    candidates.push({
      level: t.closeLevel,
      time: t.closedAt,
      size: t.size === undefined ? undefined : Math.abs(t.size),
      full: undefined,
      source: 'transactions',
    });
  }
  return candidates.sort((a, b) => a.time - b.time);
}

function pick(candidates: CloseRecord[], query: FindCloseQuery): CloseRecord | undefined {
  const prefer = query.prefer;
  const score = (c: CloseRecord): number =>
    (prefer?.full === true && c.full === true ? 2 : 0) +
    (prefer?.size !== undefined && c.size !== undefined && Math.abs(c.size - prefer.size) <= SIZE_EPSILON ? 1 : 0);
  let best: CloseRecord | undefined;
  for (const c of candidates) {
    if (best === undefined) {
      best = c;
      continue;
    }
    const d = score(c) - score(best);
    if (d > 0 || (d === 0 && c.time > best.time)) best = c;
  }
  return best;
}

/** A failed or unreadable answer: the other source may still tell. Anything else is a bug. */
function isBrokerError(err: unknown): boolean {
  return err instanceof BrokerUnavailable || err instanceof BrokerRejected;
}

/**
 * The exit of a position from IG's history: the activity first, the transactions as a fallback.
 * Resolves undefined when neither shows it; rejects only when a source failed and none found it
 * (the caller cannot tell "not closed" from "could not look").
 */
export async function findClose(rest: IgHistorySource, query: FindCloseQuery): Promise<CloseRecord | undefined> {
  const after = query.after;
  const found = await findCloses(rest, query);
  return pick(after === undefined ? found : found.filter((c) => c.time > after), query);
}

/**
 * Every close of a position in IG's history, oldest first (a position closed in parts has one
 * each): the activity's, or when it shows none the transactions'. Rejects only when a source
 * failed and none found any.
 */
export async function findCloses(rest: IgHistorySource, query: FindCloseQuery): Promise<CloseRecord[]> {
  const range = { from: query.since - SECOND, to: query.until + SECOND };
  let failure: unknown;
  try {
    // No dealId filter: IG filters on the activity's own dealId, which for a close is the closing
    // deal's, not the position's (see the rest client's close settlement).
    const found = closesFromActivity(await rest.getActivity(range), query);
    if (found.length > 0) return found;
  } catch (err) {
    if (!isBrokerError(err)) throw err;
    failure = err;
  }
  if (query.position?.openLevel !== undefined || query.position?.openedAt !== undefined) {
    try {
      const found = closesFromTransactions(await rest.getTransactions({ ...range, type: 'ALL_DEAL' }), query);
      if (found.length > 0) return found;
    } catch (err) {
      if (!isBrokerError(err)) throw err;
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return [];
}
