import type { Tick } from '../domain/types.js';
import type { SkipKind } from '../ports/market-data.js';

/**
 * Out-of-order ticks in a row after which the tick they are all earlier than is taken for the
 * stray one (a time far ahead, from a glitch in the feed's clock), and ticks are taken again.
 */
export const OUT_OF_ORDER_RUN_LIMIT = 10;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The tick files' checks on a tick's values (SPEC §6.1: non-positive, crossed, earlier than its
 * market's previous tick), for the ticks of the broker's stream. `live` skips what a backtest of
 * its recording (`--record`) skips, so the two give the same journal (§2), and a glitch in the
 * feed moves no stop. The file readers make the same checks on a row's fields before any Tick
 * exists (file-sink.ts `accept`, on the backtest's hot path).
 *
 * One difference, so that live never goes blind: after OUT_OF_ORDER_RUN_LIMIT out-of-order ticks
 * in a row, the next one is taken (and `onResume` told), where a file would skip every tick until
 * the stray time. Only a feed whose clock jumped ahead and back meets it.
 */
export class StreamTickCheck {
  readonly skipped: Record<SkipKind, number> = { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 };
  get skippedTotal(): number {
    const s = this.skipped;
    return s.malformed + s.crossed + s.nonPositive + s.outOfOrder;
  }
  private readonly lastTime = new Map<string, number>();
  private readonly outOfOrderRun = new Map<string, number>();

  constructor(private readonly onResume: (market: string, message: string) => void = () => undefined) {}

  /** Why the tick is skipped, with the reason in words; undefined for a good tick. */
  check(tick: Tick): { kind: SkipKind; message: string } | undefined {
    const problem = this.problem(tick);
    if (problem === undefined) {
      this.lastTime.set(tick.market, tick.time);
      this.outOfOrderRun.delete(tick.market);
      return undefined;
    }
    if (problem.kind === 'outOfOrder') {
      const run = (this.outOfOrderRun.get(tick.market) ?? 0) + 1;
      if (run > OUT_OF_ORDER_RUN_LIMIT) {
        this.onResume(
          tick.market,
          `${OUT_OF_ORDER_RUN_LIMIT} ticks in a row were earlier than the one at ${iso(this.lastTime.get(tick.market) ?? tick.time)}: taking that time for a glitch, ticks are taken again from ${iso(tick.time)}`,
        );
        this.outOfOrderRun.delete(tick.market);
        this.lastTime.set(tick.market, tick.time);
        return undefined;
      }
      this.outOfOrderRun.set(tick.market, run);
    }
    this.skipped[problem.kind]++;
    return problem;
  }

  private problem({ market, time, bid, ask }: Tick): { kind: SkipKind; message: string } | undefined {
    if (!(bid > 0 && ask > 0)) return { kind: 'nonPositive', message: `non-positive price (bid ${bid}, ask ${ask})` };
    if (bid > ask) return { kind: 'crossed', message: `crossed quote (bid ${bid} > ask ${ask})` };
    const previous = this.lastTime.get(market);
    if (previous !== undefined && time < previous) {
      return {
        kind: 'outOfOrder',
        message: `time ${iso(time)} is earlier than the previous tick's (${iso(previous)})`,
      };
    }
    return undefined;
  }
}
