import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../../src/core/adapters/sim/sim-broker.js';
import type { Broker, BrokerAction, BrokerEventHandler } from '../../../src/core/ports/broker.js';
import type { Tick } from '../../../src/core/domain/types.js';
import { brief, DAX, harness, market, scriptedEntry } from '../../support/engine-harness.js';

const vs = { distance: 4, safetyDistance: 10, cooldownMs: 1000 };

/** A simulated broker that refuses the first `n` closes (a fake, not a mock: it keeps real state). */
class RefusingBroker implements Broker {
  private handler: BrokerEventHandler = () => undefined;
  private now = 0;
  constructor(
    private readonly inner: SimBroker,
    private refusals: number,
  ) {}
  setEventHandler(h: BrokerEventHandler): void {
    this.handler = h;
    this.inner.setEventHandler(h);
  }
  onTick(t: Tick): void {
    this.now = t.time;
    this.inner.onTick(t);
  }
  submit(a: BrokerAction): void {
    if (a.type === 'close' && this.refusals > 0) {
      this.refusals--;
      this.handler({ type: 'actionRejected', time: this.now, ref: a.ref, reason: 'MARKET_CLOSED' });
      return;
    }
    this.inner.submit(a);
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

describe('virtual stop (SPEC §4.2)', () => {
  it.each([
    {
      why: 'BUY breach at exactly the level closes at market',
      direction: 'BUY' as const,
      price: 96,
      row: 'EXIT BUY 1@96 stop=90 VIRTUAL_STOP pts=-4',
    },
    {
      why: 'BUY gap through the level fills at the bid',
      direction: 'BUY' as const,
      price: 93,
      row: 'EXIT BUY 1@93 stop=90 VIRTUAL_STOP pts=-7',
    },
    {
      why: 'SELL breach at ask ≥ level',
      direction: 'SELL' as const,
      price: 104,
      row: 'EXIT SELL 1@104 stop=110 VIRTUAL_STOP pts=-4',
    },
  ])('$why', ({ direction, price, row }) => {
    const h = harness({
      markets: [market({ exits: { virtualStop: vs } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction, stopPoints: 8 }]) },
    });
    h.tick(1, 100);
    h.tick(2, direction === 'BUY' ? 96.1 : 103.9); // not yet
    h.tick(3, price);
    const rows = brief(h.journal.rows);
    expect(rows[0], 'the broker stop is the safety stop').toContain(`stop=${direction === 'BUY' ? 90 : 110}`);
    expect(rows.slice(1)).toEqual([row]);
    expect(h.journal.rows[1]?.rMultiple, 'R is the virtual distance').toBeCloseTo(price === 93 ? -1.75 : -1, 9);
  });

  it('scalpMaxStop: a position whose own stop is wider gets a normal broker stop and no virtual level', () => {
    const h = harness({
      markets: [market({ exits: { virtualStop: { ...vs, scalpMaxStop: 8 } } })],
      entries: {
        [DAX]: scriptedEntry([
          { at: 1, direction: 'BUY', stopPoints: 20 },
          { at: 2, direction: 'BUY', stopPoints: 8 },
        ]),
      },
    });
    h.tick(1, 100);
    h.tick(2, 100);
    h.tick(3, 96);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=80 SIGNAL',
      'ENTRY BUY 1@100 stop=90 SIGNAL',
      'EXIT BUY 1@96 stop=90 VIRTUAL_STOP pts=-4',
    ]);
  });

  it('minStopDistance widens the safety stop, never the virtual level', () => {
    const h = harness({
      markets: [market({ minStopDistance: 12, exits: { virtualStop: vs } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 8 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 96);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=88 SIGNAL',
      'EXIT BUY 1@96 stop=88 VIRTUAL_STOP pts=-4',
    ]);
  });

  it('a rejected close is retried no sooner than cooldownMs after the attempt', () => {
    const markets = [market({ exits: { virtualStop: vs } })];
    const h = harness({
      markets,
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 8 }]) },
      broker: new RefusingBroker(new SimBroker(markets), 1),
    });
    h.tick(0, 100);
    h.tick(1000, 95); // attempt 1: refused
    h.tick(1999, 95); // 999 ms later: still cooling down
    expect(h.actions.filter((a) => a.type === 'close')).toHaveLength(1);
    expect(h.alerts.some((a) => a.message.includes('rejected'))).toBe(true);
    h.tick(2000, 95); // 1000 ms: retried and filled
    expect(h.actions.filter((a) => a.type === 'close')).toHaveLength(2);
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@95 stop=90 VIRTUAL_STOP pts=-5');
  });
});

describe('a time exit the broker refuses (live: the market closed for the night)', () => {
  /** A market with maxHold 1 minute, and the snapshot of a BUY 1 at 100 opened on it at 0 (to restore). */
  function heldOneMinute() {
    const m = market({ exits: { time: { timezone: 'UTC', maxHoldMinutes: 1 } } });
    const opened = harness({
      markets: [m],
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 50 }]) },
    });
    opened.tick(0, 100);
    const [snap] = opened.runner.engine.exportPositions(DAX);
    return { m, snap };
  }

  it('is sent again on the next tick of its market, not on every clock event', () => {
    const m = market({ exits: { time: { timezone: 'UTC', maxHoldMinutes: 1 } } });
    const h = harness({
      markets: [m],
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 50 }]) },
      broker: new RefusingBroker(new SimBroker([m]), 5),
    });
    const closes = () => h.actions.filter((a) => a.type === 'close').length;
    h.tick(0, 100);
    h.runner.onClock(60_000); // due: refused
    h.runner.onClock(61_000);
    h.runner.onClock(62_000);
    expect(closes(), 'one close until a tick comes').toBe(1);
    h.tick(63_000, 101); // refused again
    expect(closes()).toBe(2);
    h.runner.onClock(64_000);
    expect(closes()).toBe(2);
  });
  it('a restored position whose market has had no tick since the start: refused once, not on every clock event', () => {
    const { m, snap } = heldOneMinute();
    const h = harness({ markets: [m], broker: new RefusingBroker(new SimBroker([m]), 50) });
    h.runner.engine.restorePosition(snap!, { size: snap!.size, stopLevel: 50, limitLevel: undefined });
    for (let t = 120_000; t < 130_000; t += 1000) h.runner.onClock(t);
    expect(h.actions.filter((a) => a.type === 'close')).toHaveLength(1);
  });

  it('paper: a time exit before the market has a price is refused, not filled at no price', () => {
    const { m, snap } = heldOneMinute();
    const sim = new SimBroker([m], 'PAPER');
    sim.seed({ dealId: snap!.dealId, market: DAX, direction: 'BUY', size: 1, stopLevel: 50, limitLevel: undefined });
    const h = harness({ markets: [m], broker: sim });
    h.runner.engine.restorePosition(snap!, { size: 1, stopLevel: 50, limitLevel: undefined });
    h.runner.onClock(120_000);
    expect(h.journal.rows, 'no row at no price').toEqual([]);
    h.tick(121_000, 101); // the first price: the time exit fills at it
    expect(brief(h.journal.rows)).toEqual(['EXIT BUY 1@101 stop=50 TIME_EXIT pts=1']);
  });
});
