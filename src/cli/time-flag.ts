import { parseTimestamp } from '../core/adapters/files/signals.js';
import { UserError } from '../core/domain/errors.js';

/**
 * `--from`/`--to`: epoch milliseconds, or an ISO-8601 date or time, read as signal and tick times
 * are (a time without a zone is in `timezone`, UTC by default).
 */
export function parseTimeFlag(flag: string, value: string | undefined, timezone?: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseTimestamp(value, timezone);
  if (ms === undefined) {
    throw new UserError(
      `${flag} ${value}: expected an ISO-8601 time (2024-03-01 or 2024-03-01T08:00:00Z) or epoch milliseconds`,
    );
  }
  return ms;
}
