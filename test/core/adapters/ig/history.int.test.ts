/** Closes read back from IG's history (the fake IG on 127.0.0.1): several parts, one position. */
import { afterEach, describe, expect, it } from 'vitest';
import { findCloses } from '../../../../src/core/adapters/ig/history.js';
import { IgRestClient } from '../../../../src/core/adapters/ig/rest-client.js';
import { startFakeIg, type FakeIg } from '../../../support/fake-ig/index.js';

const EPIC = 'IX.D.DAX.DAILY.IP';
let ig: FakeIg | undefined;
afterEach(async () => {
  await ig?.close();
  ig = undefined;
});

describe('closes from IG history', () => {
  it('closes within one second come back in the order IG made them (its lists are newest first), the full close last', async () => {
    const f = (ig = await startFakeIg({
      markets: [{ epic: EPIC, bid: 100, ask: 101, minStopDistance: 0, decimals: 1 }],
    }));
    const t0 = Date.parse('2024-03-14T10:00:00Z');
    f.pushTick({ epic: EPIC, bid: 100, ask: 101, time: t0 });
    const dealId = f.openExternally({ epic: EPIC, direction: 'BUY', size: 1, level: 101 });
    f.pushTick({ epic: EPIC, bid: 115, ask: 116, time: t0 + 60_000 });
    // Three closes in one second of IG's clock.
    f.closeExternally(dealId, 115, 0.2);
    f.closeExternally(dealId, 116, 0.5);
    f.closeExternally(dealId, 117);
    const rest = new IgRestClient({
      credentials: { apiKey: f.apiKey, identifier: f.identifier, password: f.password },
      restUrl: f.restUrl,
    });
    await rest.login();
    const closes = await findCloses(rest, { dealId, since: t0, until: t0 + 120_000 });
    expect(closes.map((c) => [c.level, c.size, c.full])).toEqual([
      [115, 0.2, false],
      [116, 0.5, false],
      [117, 0.3, true],
    ]);
  });
});
