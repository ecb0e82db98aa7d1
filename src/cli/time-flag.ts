import { parseTimestamp } from '../core/adapters/files/signals.js';
import { UserError } from '../core/domain/errors.js';

/**
 * `--from`/`--to`: epoch milliseconds, or an ISO-8601 date or time, read as signal and tick times
 * are (a time without a zone is in `timezone`, UTC by default).
 */
function parseTimeFlag(flag: string, value: string | undefined, timezone?: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseTimestamp(value, timezone);
  if (ms === undefined) {
    throw new UserError(
      `${flag} ${value}: expected an ISO-8601 time (2024-03-01 or 2024-03-01T08:00:00Z) or epoch milliseconds`,
    );
  }
  return ms;
}

/** `--timezone`: an IANA zone, said as the flag's error (not as the first file that would read it). */
export function checkTimezone(timezone: string | undefined): void {
  if (timezone === undefined) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new UserError(`--timezone ${timezone} is not an IANA time zone`, 'e.g. Europe/London, America/New_York, UTC');
  }
}

/** `--from` and `--to` together (`--to` exclusive): a window that can hold no tick is bad input. */
export function parseTimeWindow(
  from: string | undefined,
  to: string | undefined,
  timezone?: string,
): { from: number | undefined; to: number | undefined } {
  checkTimezone(timezone);
  const window = { from: parseTimeFlag('--from', from, timezone), to: parseTimeFlag('--to', to, timezone) };
  if (window.from !== undefined && window.to !== undefined && window.from >= window.to) {
    throw new UserError(
      `--from ${from} is not before --to ${to}: no tick can fall between them`,
      '--from is inclusive and --to exclusive; swap them or widen the window',
    );
  }
  return window;
}
