/** `state show` reads the state directory and shows its numbers as the journal writes them. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonStateStore } from '../../../src/core/adapters/files/state-store.js';
import { showState } from '../../../src/core/services/inspect.js';

const DAX = 'IX.D.DAX.DAILY.IP';

describe('state show', () => {
  it('a risk of entry − stop, and guard totals, are shown to 8 decimals, without binary noise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-show-'));
    const configPath = join(dir, 'trailguard.yaml');
    writeFileSync(
      configPath,
      `broker: { kind: paper }\nstateDir: ./state\nstrategies:\n  s: { guard: { maxDrawdown: -100 } }\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1, strategy: s }\n`,
    );
    const store = new JsonStateStore(join(dir, 'state'));
    // 17947.3 − 17850 in binary.
    const risk = 17947.3 - 17850;
    expect(risk).not.toBe(97.3);
    store.writeMarket({
      version: 1,
      market: DAX,
      positions: [
        {
          dealId: 'D1',
          market: DAX,
          strategy: 's',
          direction: 'BUY',
          size: 2,
          originalSize: 2,
          entryPrice: 17947.3,
          entryTime: 1,
          entryReason: 'ADOPTED',
          stopReason: 'STOP',
          initialStop: 17850,
          risk,
          best: 17947.3,
          trailingActive: false,
          ladderNext: 0,
          ladderLock: undefined,
          virtualLevel: undefined,
        },
      ],
    });
    store.writeStrategies({ version: 1, guards: { s: { realised: 0.1 + 0.2, peak: 0.1 + 0.2, stopped: undefined } } });
    const shown = await showState({ configPath });
    expect(shown.markets[0]!.positions[0]!.risk).toBe(97.3);
    expect(shown.guards.s).toMatchObject({ realised: 0.3, peak: 0.3 });
  });
});
