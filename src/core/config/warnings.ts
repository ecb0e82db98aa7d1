import type { Config } from '../domain/config.js';
import { POINT_EPSILON, wholeSteps } from '../engine/numeric.js';

/**
 * Settings SPEC §7 allows but a trader almost certainly did not mean: said as warnings by
 * `backtest` (with its alerts) and `live` (in its log at start), never refused, so that every
 * configuration SPEC accepts still runs as SPEC says.
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const guarded = Object.keys(config.strategies);
  for (const m of Object.values(config.markets)) {
    // A typo in `strategy:` runs the market without its strategy's kill switch.
    if (guarded.length > 0 && m.strategy !== 'default' && !guarded.includes(m.strategy))
      warnings.push(
        `${m.market}: strategy ${m.strategy} is not under strategies: (${guarded.join(', ')}), so no guard watches it`,
      );
    const v = m.exits.virtualStop;
    if (v !== undefined && v.distance >= v.safetyDistance - POINT_EPSILON)
      warnings.push(
        `${m.market}: exits.virtualStop.distance ${v.distance} is not inside safetyDistance ${v.safetyDistance}: the broker's safety stop closes the position first, the virtual stop never fires`,
      );
    const e = m.exits;
    if (e.trailing !== undefined && e.trailing.distance === 0)
      warnings.push(`${m.market}: exits.trailing.distance 0 closes a position as soon as the rule is active`);
    for (const rung of e.ladder?.rungs ?? [])
      if (rung.lock >= rung.at)
        warnings.push(
          `${m.market}: the ladder rung at ${rung.at} locks ${rung.lock}, at or beyond the price that fires it: it closes the position at once`,
        );
    if (e.profitLock !== undefined && e.profitLock.lockFraction >= 1)
      warnings.push(
        `${m.market}: exits.profitLock.lockFraction ${e.profitLock.lockFraction} locks all of the peak profit or more: it closes the position at once`,
      );
    const widened = m.minStopDistance > 0 ? ` (widened to minStopDistance ${m.minStopDistance})` : '';
    if (m.entry.stopPoints === 0)
      warnings.push(
        `${m.market}: entry.stopPoints 0 sets the initial stop at the entry price${widened}: the spread alone can stop a position on its next tick`,
      );
    if (m.entry.limitPoints === 0)
      warnings.push(
        `${m.market}: entry.limitPoints 0 sets the take-profit at the entry price${widened}: a position closes as soon as the price is back at its entry`,
      );
    const size = m.entry.size;
    if (size !== undefined && !wholeSteps(size, m.lotStep))
      warnings.push(
        `${m.market}: entry.size ${size} is not a whole number of lots (lotStep ${m.lotStep}): IG would refuse such a deal`,
      );
  }
  for (const [name, strategy] of Object.entries(config.strategies)) {
    const fraction = strategy.guard?.trailFraction;
    if (fraction !== undefined && (fraction === 0 || fraction >= 1))
      warnings.push(
        `strategy ${name}: guard.trailFraction ${fraction} ${fraction === 0 ? 'stops it on the first tick below its peak' : 'stops it only once its MTM is at or below 0'}`,
      );
  }
  return warnings;
}
