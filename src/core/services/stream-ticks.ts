import type { Tick } from '../domain/types.js';
import type { SkipKind } from '../ports/market-data.js';

/**
 * The tick files' checks on a tick's values (SPEC §6.1: non-positive, crossed, earlier than its
 * market's previous tick), for the ticks of the broker's stream. `live` skips what a backtest of
 * its recording (`--record`) skips, so the two give the same journal (§2), and a glitch in the
 * feed moves no stop. The file readers make the same checks on a row's fields before any Tick
 * exists (file-sink.ts `accept`, on the backtest's hot path).
 */
export class StreamTickCheck {
  readonly skipped: Record<SkipKind, number> = { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 };
  skippedTotal = 0;
  private readonly lastTime = new Map<string, number>();

  /** Why the tick is skipped, with the reason in words; undefined for a good tick. */
  check(tick: Tick): { kind: SkipKind; message: string } | undefined {
    const problem = this.problem(tick);
    if (problem === undefined) this.lastTime.set(tick.market, tick.time);
    else {
      this.skipped[problem.kind]++;
      this.skippedTotal++;
    }
    return problem;
  }

  private problem({ market, time, bid, ask }: Tick): { kind: SkipKind; message: string } | undefined {
    if (!(bid > 0 && ask > 0)) return { kind: 'nonPositive', message: `non-positive price (bid ${bid}, ask ${ask})` };
    if (bid > ask) return { kind: 'crossed', message: `crossed quote (bid ${bid} > ask ${ask})` };
    const previous = this.lastTime.get(market);
    if (previous !== undefined && time < previous) {
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        kind: 'outOfOrder',
        message: `time ${iso(time)} is earlier than the previous tick's (${iso(previous)})`,
      };
    }
    return undefined;
  }
}
