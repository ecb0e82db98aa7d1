import type { TickBatch } from '../../../ports/market-data.js';

export interface TickGap {
  /** Milliseconds between the two ticks. */
  ms: number;
  /** Time of the tick before the gap and of the tick after it. */
  from: number;
  to: number;
}

export interface MarketTickStats {
  market: string;
  ticks: number;
  firstTime: number | undefined;
  lastTime: number | undefined;
  /** ask − bid in price units. */
  spread: { min: number; mean: number; max: number } | undefined;
  /** The largest gaps between consecutive ticks of the market, largest first. */
  gaps: TickGap[];
}

interface Acc {
  ticks: number;
  first: number;
  last: number;
  spreadMin: number;
  spreadMax: number;
  spreadSum: number;
  /** Sorted descending by ms, at most `topGaps` long. */
  gaps: TickGap[];
}

/**
 * Per-market statistics over a tick stream, in one pass with memory that does not grow with the
 * stream: counts, time range, spread min/mean/max and the `topGaps` largest gaps.
 */
export class TickStatsBuilder {
  private readonly accs: (Acc | undefined)[] = [];

  constructor(private readonly topGaps = 5) {}

  add(batch: TickBatch): void {
    const { time, bid, ask, market } = batch;
    for (let i = 0; i < batch.length; i++) {
      const m = market[i]!;
      let acc = this.accs[m];
      const t = time[i]!;
      const spread = ask[i]! - bid[i]!;
      if (acc === undefined) {
        acc = { ticks: 0, first: t, last: t, spreadMin: spread, spreadMax: spread, spreadSum: 0, gaps: [] };
        this.accs[m] = acc;
      } else {
        const gap = t - acc.last;
        const gaps = acc.gaps;
        if (this.topGaps > 0 && (gaps.length < this.topGaps || gap > gaps[gaps.length - 1]!.ms))
          this.insertGap(gaps, { ms: gap, from: acc.last, to: t });
      }
      acc.ticks++;
      acc.last = t;
      acc.spreadSum += spread;
      if (spread < acc.spreadMin) acc.spreadMin = spread;
      if (spread > acc.spreadMax) acc.spreadMax = spread;
    }
  }

  /** Statistics by market, for the market names the batches' ids index. */
  result(names: readonly string[]): MarketTickStats[] {
    return names.map((market, id) => {
      const acc = this.accs[id];
      if (acc === undefined)
        return { market, ticks: 0, firstTime: undefined, lastTime: undefined, spread: undefined, gaps: [] };
      return {
        market,
        ticks: acc.ticks,
        firstTime: acc.first,
        lastTime: acc.last,
        spread: { min: acc.spreadMin, mean: acc.spreadSum / acc.ticks, max: acc.spreadMax },
        gaps: acc.gaps.map((g) => ({ ...g })),
      };
    });
  }

  private insertGap(gaps: TickGap[], gap: TickGap): void {
    // Stable: an equal gap found later goes after the earlier one.
    let at = gaps.length;
    while (at > 0 && gaps[at - 1]!.ms < gap.ms) at--;
    gaps.splice(at, 0, gap);
    if (gaps.length > this.topGaps) gaps.pop();
  }
}
