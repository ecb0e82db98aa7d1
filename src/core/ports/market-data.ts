/** Where ticks come from: tick files in backtest (batches for speed), the broker's stream live. */

/**
 * A batch of ticks as parallel columns, so readers allocate nothing per tick.
 * `market[i]` indexes `TickSource.markets`. A batch and its arrays may be reused by the
 * source once the consumer asks for the next one.
 */
export interface TickBatch {
  length: number;
  time: Float64Array;
  bid: Float64Array;
  ask: Float64Array;
  market: Int32Array;
}

export type SkipKind = 'malformed' | 'crossed' | 'nonPositive' | 'outOfOrder';

export interface SkippedRow {
  file: string;
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  kind: SkipKind;
  message: string;
}

export interface ReadStats {
  /** Ticks handed to the consumer. */
  accepted: number;
  /** Rows skipped by kind (SPEC §6.1). */
  skipped: Record<SkipKind, number>;
  /** Well-formed ticks of markets not in the configuration (SPEC §9: ignored, not errors). */
  ignored: number;
  /** The first few skipped rows, for the report. */
  firstSkipped: SkippedRow[];
}

export interface TickSource {
  /** Market names by index; may grow while reading. */
  readonly markets: readonly string[];
  batches(): AsyncIterable<TickBatch>;
  stats(): ReadStats;
}
