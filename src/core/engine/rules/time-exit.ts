import type { ExitReason } from '../../domain/types.js';
import type { PositionState } from '../position.js';

/**
 * Time exits (SPEC §4.7, §9): END_OF_DAY at or after `flatAt` local time (it wins when both are
 * due), TIME_EXIT once the position has been held `maxHoldMinutes`. `now` is the tick (or the
 * clock event): an object, since a time passed as a double to a call V8 does not inline is boxed.
 */
export function timeExitDue(
  p: PositionState,
  now: { readonly time: number },
  flatDue: boolean,
  maxHoldMs: number | undefined,
): ExitReason | undefined {
  if (flatDue) return 'END_OF_DAY';
  if (maxHoldMs !== undefined && now.time - p.entryTime >= maxHoldMs) return 'TIME_EXIT';
  return undefined;
}
