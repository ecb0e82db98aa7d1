import type { CloseCause } from '../domain/events.js';
import type { Engine } from '../engine/engine.js';
import type { BrokerPosition, CloseFound } from './reconcile.js';
import type { EngineRunner } from './run-engine.js';

export interface GapReport {
  closed: { dealId: string; market: string; level: number | undefined }[];
  resized: { dealId: string; market: string; from: number; to: number }[];
  unknown: { dealId: string; market: string }[];
}

/** A close found after the fact: at the stop or beyond it, at the limit or beyond it, or neither. */
function causeOf(engine: Engine, dealId: string, level: number): CloseCause {
  const p = engine.position(dealId);
  if (p === undefined) return 'external';
  const tolerance = 1e-9 * Math.max(1, Math.abs(level));
  if (p.stopLevel !== undefined && p.sign * (level - p.stopLevel) <= tolerance) return 'stop';
  if (p.limitLevel !== undefined && p.sign * (level - p.limitLevel) >= -tolerance) return 'limit';
  return 'external';
}

/**
 * After the stream reconnects, updates sent while it was down are lost: the positions the engine
 * manages are compared with IG's list, and what changed in the gap is fed to the engine as the
 * stream would have (a position gone: its close from the history; a size that shrank: a partial
 * close at the price of the moment). IG positions the engine does not know are only reported;
 * `sync` or a restart adopts them by the usual rules.
 */
export async function settleStreamGap(deps: {
  runner: EngineRunner;
  brokerPositions: readonly BrokerPosition[];
  findClose: (dealId: string, since: number, openLevel: number) => Promise<CloseFound | undefined>;
  now: number;
}): Promise<GapReport> {
  const { runner } = deps;
  const engine = runner.engine;
  const atBroker = new Map(deps.brokerPositions.map((p) => [p.dealId, p]));
  const report: GapReport = { closed: [], resized: [], unknown: [] };
  const managed = new Set<string>();
  for (const view of engine.openPositions()) {
    const p = view.position;
    managed.add(p.dealId);
    if (p.closing) continue; // our own close is in flight: its confirmation settles it
    const live = atBroker.get(p.dealId);
    if (live === undefined) {
      const found = await deps.findClose(p.dealId, p.entryTime, p.entryPrice);
      // The close may have been reported by the broker adapter while we were asking.
      if (engine.position(p.dealId) === undefined) continue;
      const level = found?.level ?? view.price;
      if (level === undefined) continue;
      runner.onBrokerEvent({
        type: 'positionClosed',
        time: found?.time ?? deps.now,
        dealId: p.dealId,
        size: p.size,
        level,
        cause: found === undefined ? 'external' : causeOf(engine, p.dealId, level),
      });
      report.closed.push({ dealId: p.dealId, market: p.market, level });
    } else if (live.size < p.size - 1e-9) {
      const price = p.direction === 'BUY' ? live.bid : live.ask;
      if (price === undefined) continue;
      runner.onBrokerEvent({
        type: 'positionClosed',
        time: deps.now,
        dealId: p.dealId,
        size: p.size - live.size,
        level: price,
        cause: 'external',
      });
      report.resized.push({ dealId: p.dealId, market: p.market, from: p.size, to: live.size });
    }
  }
  for (const b of deps.brokerPositions) {
    if (!managed.has(b.dealId)) report.unknown.push({ dealId: b.dealId, market: b.market });
  }
  return report;
}
