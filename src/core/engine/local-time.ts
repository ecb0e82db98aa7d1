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
    this.format = timezone === 'UTC' || timezone === 'Etc/UTC' ? undefined : zoneFormat(timezone);
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
    return zoneOffsetAt(this.format as Intl.DateTimeFormat, time);
  }
}

/** The formatter `zoneOffsetAt` reads a zone's wall-clock time with (throws RangeError on a bad zone). */
export function zoneFormat(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    era: 'short',
  });
}

/** Offset (local − UTC, ms) of the zone of `format` at a UTC instant; whole seconds, as the tz database. */
export function zoneOffsetAt(format: Intl.DateTimeFormat, utcMs: number): number {
  const seconds = Math.floor(utcMs / 1000) * 1000;
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const part of format.formatToParts(seconds)) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
      case 'era':
        bc = part.value.startsWith('B');
        break;
      default:
        break;
    }
  }
  // Date.UTC maps years 0–99 to 1900–1999; the explicit setter does not.
  const date = new Date(0);
  date.setUTCFullYear(bc ? 1 - year : year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() - seconds;
}
