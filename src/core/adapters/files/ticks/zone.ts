import { UserError } from '../../../domain/errors.js';
import { zoneFormat, zoneOffsetAt } from '../../../engine/local-time.js';
import { MS_PER_DAY, MS_PER_HOUR } from './civil.js';

/**
 * Turns wall-clock times of an IANA zone into UTC, DST-correct.
 *
 * Offsets come from Intl (the tz database Node ships) and are cached per local day: a day whose
 * surroundings have one offset maps every time with it; only the two transition days a year are
 * resolved time by time. Times that fall in a DST gap or overlap follow Temporal's `compatible`
 * disambiguation: a repeated hour means its first occurrence, a skipped hour is moved forward by
 * the length of the gap (02:30 on a spring-forward night is read as 03:30).
 */
export class ZoneResolver {
  readonly zone: string;
  private readonly format: Intl.DateTimeFormat;
  /** Local day number → offset in ms, or NaN when an offset transition falls in or near that day. */
  private readonly dayOffsets = new Map<number, number>();
  private lastDay = Number.NaN;
  private lastOffset = Number.NaN;

  constructor(zone: string) {
    try {
      this.format = zoneFormat(zone);
    } catch {
      throw new UserError(
        `unknown time zone "${zone}"`,
        'use an IANA zone name such as Europe/London or America/New_York',
      );
    }
    this.zone = this.format.resolvedOptions().timeZone;
  }

  /** UTC epoch ms of a wall-clock time given as ms since 1970-01-01T00:00 local. */
  toUtc(localMs: number): number {
    const day = Math.floor(localMs / MS_PER_DAY);
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.lastOffset = this.offsetOfDay(day);
    }
    const offset = this.lastOffset;
    return Number.isNaN(offset) ? this.resolveExactly(localMs) : localMs - offset;
  }

  /** Zone offset (local − UTC, ms) in force at a UTC instant. */
  offsetAt(utcMs: number): number {
    return zoneOffsetAt(this.format, utcMs);
  }

  private offsetOfDay(day: number): number {
    const cached = this.dayOffsets.get(day);
    if (cached !== undefined) return cached;
    // Every instant of this local day lies within [start − 14 h, end + 12 h] in UTC; if the offset is
    // the same on both sides of that span (no zone changes twice in 50 hours), it holds all day.
    const start = day * MS_PER_DAY;
    const before = this.offsetAt(start - 14 * MS_PER_HOUR);
    const after = this.offsetAt(start + MS_PER_DAY + 12 * MS_PER_HOUR);
    const offset = before === after ? before : Number.NaN;
    this.dayOffsets.set(day, offset);
    return offset;
  }

  private resolveExactly(localMs: number): number {
    const offsetBefore = this.offsetAt(localMs - MS_PER_DAY);
    const offsetAfter = this.offsetAt(localMs + MS_PER_DAY);
    const early = localMs - offsetBefore;
    const late = localMs - offsetAfter;
    const earlyValid = this.offsetAt(early) === offsetBefore;
    const lateValid = this.offsetAt(late) === offsetAfter;
    if (earlyValid && lateValid) return Math.min(early, late); // overlap: first occurrence
    if (earlyValid) return early;
    if (lateValid) return late;
    return early; // gap: keep the offset from before the transition, which lands after the gap
  }
}
