import type { Config } from '../domain/config.js';

const EPSILON = 1e-9;

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
    if (v !== undefined && v.distance >= v.safetyDistance - EPSILON)
      warnings.push(
        `${m.market}: exits.virtualStop.distance ${v.distance} is not inside safetyDistance ${v.safetyDistance}: the broker's safety stop closes the position first, the virtual stop never fires`,
      );
    const size = m.entry.size;
    if (size !== undefined) {
      const lots = size / m.lotStep;
      if (Math.abs(lots - Math.round(lots)) > EPSILON * Math.max(1, lots) || lots < 1 - EPSILON)
        warnings.push(
          `${m.market}: entry.size ${size} is not a whole number of lots (lotStep ${m.lotStep}): IG would refuse such a deal`,
        );
    }
  }
  return warnings;
}
