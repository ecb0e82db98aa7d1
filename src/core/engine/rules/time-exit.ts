import type { ExitReason } from '../../domain/types.js';
import type { PositionState } from '../position.js';

/**
 * Time exits (SPEC §4.7, §9): END_OF_DAY at or after `flatAt` local time (it wins when both are
 * due), TIME_EXIT once the position has been held `maxHoldMinutes`.
 */
export function timeExitDue(
  p: PositionState,
  time: number,
  flatDue: boolean,
  maxHoldMs: number | undefined,
): ExitReason | undefined {
  if (flatDue) return 'END_OF_DAY';
  if (maxHoldMs !== undefined && time - p.entryTime >= maxHoldMs) return 'TIME_EXIT';
  return undefined;
}
