import { UserError } from '../core/domain/errors.js';

/** `--from`/`--to`: epoch milliseconds, or an ISO-8601 date/time (UTC when no zone is given). */
export function parseTimeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(text) || /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms))
    throw new UserError(
      `${flag} ${value}: expected an ISO-8601 time (2024-03-01 or 2024-03-01T08:00:00Z) or epoch milliseconds`,
    );
  return ms;
}
