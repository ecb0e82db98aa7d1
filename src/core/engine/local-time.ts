/**
 * Local time of day in an IANA zone, DST-correct (SPEC §4.7 `flatAt`). Intl is deterministic
 * (no clock, no I/O) but slow, so the UTC offset is cached per 15-minute UTC slot: every zone's
 * transitions fall on quarter hours.
 */
const SLOT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

export class LocalTime {
  private readonly format: Intl.DateTimeFormat | undefined;
  private slot = Number.NaN;
  private offsetMs = 0;

  constructor(readonly timezone: string) {
    this.format =
      timezone === 'UTC' || timezone === 'Etc/UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: timezone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Milliseconds to add to a UTC time to get local wall-clock time. */
  offset(time: number): number {
    if (this.format === undefined) return 0;
    const slot = Math.floor(time / SLOT_MS);
    if (slot !== this.slot) {
      this.slot = slot;
      this.offsetMs = this.computeOffset(slot * SLOT_MS);
    }
    return this.offsetMs;
  }

  /** Milliseconds since local midnight. */
  timeOfDay(time: number): number {
    const local = time + this.offset(time);
    return ((local % DAY_MS) + DAY_MS) % DAY_MS;
  }

  /** Local calendar day number (days since 1970-01-01 in local time). */
  day(time: number): number {
    return Math.floor((time + this.offset(time)) / DAY_MS);
  }

  private computeOffset(time: number): number {
    const parts = (this.format as Intl.DateTimeFormat).formatToParts(time);
    let y = 0,
      mo = 0,
      d = 0,
      h = 0,
      mi = 0,
      s = 0;
    for (const p of parts) {
      switch (p.type) {
        case 'year':
          y = Number(p.value);
          break;
        case 'month':
          mo = Number(p.value);
          break;
        case 'day':
          d = Number(p.value);
          break;
        case 'hour':
          h = Number(p.value);
          break;
        case 'minute':
          mi = Number(p.value);
          break;
        case 'second':
          s = Number(p.value);
          break;
        default:
          break;
      }
    }
    const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
    return asUtc - (time - (((time % 1000) + 1000) % 1000));
  }
}
