/** Small parsers for the unit-bearing strings of the configuration file (SPEC §4.3, §4.7). */

const TIMEFRAME_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "30s", "1m", "15m", "1h", "4h", "1d" → milliseconds; undefined when the text is not a timeframe. */
export function parseTimeframe(text: string): number | undefined {
  const match = /^([1-9]\d{0,5})([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const unitMs = TIMEFRAME_UNIT_MS[match[2] as string];
  return unitMs === undefined ? undefined : Number(match[1]) * unitMs;
}

/** "HH:MM" (24-hour, "9:30" allowed) → minutes after midnight; undefined when it is not a time of day. */
export function parseClockTime(text: string): number | undefined {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours > 23 || minutes > 59) return undefined;
  return hours * 60 + minutes;
}

/** True when Intl knows the zone (IANA names such as "Europe/London", and "UTC"). */
export function isValidTimeZone(zone: string): boolean {
  if (zone.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch (error) {
    // Intl signals an unknown zone with a RangeError; anything else is unexpected.
    if (error instanceof RangeError) return false;
    throw error;
  }
}
