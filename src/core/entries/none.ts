import type { EntryStrategy } from './types.js';

/** No entries: `live` adopts positions opened elsewhere (SPEC §5). */
export function noneEntry(): EntryStrategy {
  return { reason: 'ADOPTED', onTick: () => undefined };
}
