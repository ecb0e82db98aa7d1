import { describe, expect, it } from 'vitest';

import { DAX, harness, market, scriptedEntry } from '../../support/engine-harness.js';

describe('positions opened and restored', () => {
  it('have one shape: the same fields in the same order, nothing else from the state file', () => {
    const cfg = market({ exits: { trailing: { activateAt: 5, distance: 3 } } });
    const opened = harness({
      markets: [cfg],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'SELL', size: 1.5, stopPoints: 20 }]) },
    });
    opened.tick(1, 100, 101);
    opened.tick(2, 90, 91); // a new best: the trailing stop activates
    const [snapshot] = opened.runner.engine.exportPositions(DAX);
    expect(snapshot, 'the opened position is exported').toBeDefined();
    const original = opened.runner.engine.position(snapshot!.dealId)!;

    // A state file written by a later trailguard may carry a field this one does not know.
    const fromNewerFile = { ...snapshot!, note: 'a field this trailguard does not know' };
    const restored = harness({ markets: [cfg] });
    restored.runner.engine.restorePosition(fromNewerFile, { size: 1, stopLevel: 94, limitLevel: undefined });
    const back = restored.runner.engine.position(snapshot!.dealId)!;

    expect(Object.keys(back), 'the fields of an opened position, in its order').toEqual(Object.keys(original));
    expect(back).toEqual({
      ...original,
      // the broker's, on a restore (SPEC §6.3)
      size: 1,
      stopLevel: 94,
      limitLevel: undefined,
      levelsTick: 0, // restored before any tick
    });
    expect(original.levelsTick, 'opened on the first tick, its stop moved on the second').toBe(2);
    expect(back).toMatchObject({ sign: -1, trailingActive: true, best: 91, pendingClose: 0, closing: false });
  });
});
