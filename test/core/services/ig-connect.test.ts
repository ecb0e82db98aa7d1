import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateDirTag } from '../../../src/core/adapters/files/state-store.js';
import { ownOpenReference, strategyTag } from '../../../src/core/adapters/ig/mapper.js';
import { brokerPositionFromIg } from '../../../src/core/services/ig-connect.js';
import { DAX, market } from '../../support/engine-harness.js';

describe("an open's mark and the state directory (several trailguards on one IG account)", () => {
  const config = (stateDir: string) => ({ markets: { [DAX]: market() }, strategies: {}, stateDir });
  const position = (dealReference: string | undefined) =>
    brokerPositionFromIg(
      { dealId: 'D1', dealReference, market: DAX, direction: 'BUY', size: 1, level: 100, openedAt: 0 },
      config(mine),
    );
  const mine = mkdtempSync(join(tmpdir(), 'tg-tag-'));
  const other = mkdtempSync(join(tmpdir(), 'tg-tag-'));
  const mark = (dirTag: string | undefined) =>
    ownOpenReference('mwr3cp2f-A1', { virtual: false, atrStop: false, strategyTag: strategyTag('default'), dirTag });

  it('each state directory keeps one tag of its own, made once', () => {
    const tag = stateDirTag(mine);
    expect(tag).toMatch(/^[A-Za-z0-9_-]{4}$/);
    expect(readFileSync(join(mine, '.tag'), 'utf8').trim()).toBe(tag);
    expect(stateDirTag(mine)).toBe(tag);
    expect(stateDirTag(other)).not.toBe(tag); // 1 in 16.7M to collide
  });

  it("takes over its own directory's opens, and older marks without a tag; never another directory's", () => {
    expect(position(mark(stateDirTag(mine))).own).toMatchObject({ strategy: 'default' });
    expect(position(mark(undefined)).own, 'a reference from before the tag').toMatchObject({ strategy: 'default' });
    expect(position(mark(stateDirTag(other))).own).toBeUndefined();
    expect(position('some-platform-ref').own).toBeUndefined();
  });
});
