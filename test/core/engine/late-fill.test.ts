/**
 * Live, IG may deliver a tick before the fill of the stop or limit that tick reached (SPEC §3.2).
 * The position then belongs to the broker: the engine must do on that tick what it does in a
 * backtest, where the simulated broker has already closed it (SPEC §2: the same journal rows).
 * These tests hold the broker's fills back until `deliver()`, and compare with the simulated
 * broker filling at once.
 */
import { describe, expect, it } from 'vitest';
import type { MarketConfig, StrategyConfig } from '../../../src/core/domain/config.js';
import type { Tick } from '../../../src/core/domain/types.js';
import type { EntryStrategy } from '../../../src/core/entries/types.js';
import { SimBroker } from '../../../src/core/adapters/sim/sim-broker.js';
import type { Broker, BrokerAction, BrokerEvent, BrokerEventHandler } from '../../../src/core/ports/broker.js';
import { brief, DAX, eurusd, EURUSD, harness, market, scriptedEntry } from '../../support/engine-harness.js';

/** The simulated broker, except that the fills a tick causes reach the engine only on `deliver()`. */
class LateFillBroker implements Broker {
  private handler: BrokerEventHandler = () => undefined;
  private held: BrokerEvent[] | undefined;
  private readonly late: BrokerEvent[] = [];
  constructor(private readonly inner: SimBroker) {
    inner.setEventHandler((event) => (this.held === undefined ? this.handler(event) : this.held.push(event)));
  }
  setEventHandler(handler: BrokerEventHandler): void {
    this.handler = handler;
  }
  onTick(tick: Tick): void {
    this.held = [];
    this.inner.onTick(tick);
    this.late.push(...this.held);
    this.held = undefined;
  }
  submit(action: BrokerAction): void {
    this.inner.submit(action);
  }
  deliver(): void {
    for (const event of this.late.splice(0)) this.handler(event);
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

function both(options: {
  markets: MarketConfig[];
  entries: () => Record<string, EntryStrategy>;
  strategies?: Record<string, StrategyConfig>;
}) {
  const late = new LateFillBroker(new SimBroker(options.markets));
  return {
    late: { h: harness({ ...options, entries: options.entries(), broker: late }), broker: late },
    now: harness({ ...options, entries: options.entries() }),
  };
}

/** DAX and EURUSD (1 a point) both trading strategy `s`, which stops at an MTM of −50. */
const GUARDED = {
  markets: [market({ strategy: 's' }), eurusd({ strategy: 's', valuePerPoint: 1 })],
  strategies: { s: { guard: { maxDrawdown: -50, minPeak: 0 } } },
};

/** A scripted entry that also records how many open positions it sees on each tick. */
function watchingEntry(seen: number[], script: Parameters<typeof scriptedEntry>[0]): EntryStrategy {
  const opener = scriptedEntry(script);
  return {
    reason: 'SIGNAL',
    onTick(tick, candle, ctx) {
      seen.push(ctx.positions.length);
      return opener.onTick(tick, candle, ctx);
    },
  };
}

describe('a tick that reaches a broker stop or limit before the fill arrives (SPEC §3.2)', () => {
  it("entries see the market as the simulated broker leaves it: without the position the tick's stop closes", () => {
    const seen: number[] = [];
    const h = harness({
      markets: [market()],
      entries: { [DAX]: watchingEntry(seen, [{ at: 1, direction: 'BUY', stopPoints: 5, limitPoints: 50 }]) },
      broker: new LateFillBroker(new SimBroker([market()])),
    });
    h.tick(1, 100);
    h.tick(2, 101);
    h.tick(3, 94); // reaches the stop at 95
    h.tick(4, 96); // the fill has still not come: the tick no longer reaches it, the position is back
    expect(seen).toEqual([0, 1, 0, 1]);
  });

  it('the strategy guard counts the position as closed at the fill, trips on that tick, and leaves its close to the broker', () => {
    const setup = {
      ...GUARDED,
      entries: () => ({
        [DAX]: scriptedEntry([
          { at: 1, direction: 'BUY' as const, stopPoints: 20 },
          { at: 4, direction: 'BUY' as const, stopPoints: 20 },
        ]),
        [EURUSD]: scriptedEntry([{ at: 2, direction: 'SELL' as const, stopPoints: 500 }]),
      }),
    };
    const { late, now } = both(setup);
    for (const h of [late.h, now]) {
      h.tick(1, 100);
      h.tick(2, 1.1, 1.1, EURUSD);
      h.tick(3, 1.101, 1.101, EURUSD); // EURUSD −10
      h.tick(4, 60); // DAX's stop at 80 is reached: filled at 60, −40 → MTM −50 trips; no new entry
    }
    expect(late.h.alerts.map((a) => a.data['reason'])).toEqual(['STRATEGY_DRAWDOWN']);
    const daxDeal = late.h.journal.rows[0]?.dealId;
    expect(
      late.h.actions.filter((a) => a.type === 'close').map((a) => a.market),
      'the trip closes EURUSD; the DAX position is the broker’s',
    ).toEqual([EURUSD]);
    expect(late.h.actions.some((a) => a.type === 'close' && a.dealId === daxDeal)).toBe(false);
    late.broker.deliver();
    expect(brief(late.h.journal.rows).sort()).toEqual(brief(now.journal.rows).sort());
    expect(brief(now.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=80 SIGNAL',
      'ENTRY SELL 1@1.1 stop=1.15 SIGNAL',
      'EXIT BUY 1@60 stop=80 STOP pts=-40',
      'EXIT SELL 1@1.101 stop=1.15 STRATEGY_DRAWDOWN pts=-10',
    ]);
  });

  it('the late fill, at the level the guard counted, is no news: a tick of another market does not look at the guard again', () => {
    const setup = {
      ...GUARDED,
      entries: () => ({
        [EURUSD]: scriptedEntry([
          { at: 1, direction: 'BUY' as const, stopPoints: 20 },
          { at: 3, direction: 'SELL' as const, stopPoints: 500 }, // on the stop's tick, the market flat
        ]),
      }),
    };
    const { late, now } = both(setup);
    for (const [h, deliver] of [
      [late.h, () => late.broker.deliver()],
      [now, () => undefined],
    ] as const) {
      h.tick(1, 1.1, 1.1, EURUSD);
      h.tick(2, 1.099, 1.099, EURUSD);
      h.tick(3, 1.096, 1.1, EURUSD); // the stop at 1.098 fills at 1.096: −40, no trip; SELL at 1.096, −40 at the ask
      deliver();
      h.tick(4, 100, 100, DAX); // no position of s here, nothing realised: the guard is not looked at
      h.tick(5, 1.096, 1.0965, EURUSD); // the SELL's tick: MTM −40 − 5 = −45, no trip
    }
    expect(brief(now.journal.rows)).toEqual([
      'ENTRY BUY 1@1.1 stop=1.098 SIGNAL',
      'EXIT BUY 1@1.096 stop=1.098 STOP pts=-40',
      'ENTRY SELL 1@1.096 stop=1.146 SIGNAL',
    ]);
    expect(brief(late.h.journal.rows).sort()).toEqual(brief(now.journal.rows).sort());
    expect(late.h.alerts).toEqual([]);
  });

  it("a reached limit counts at the limit in the strategy's MTM, where the broker fills it", () => {
    const setup = {
      markets: [market({ strategy: 's' })],
      strategies: { s: { guard: { maxDrawdown: -1000, minPeak: 0 } } },
      entries: () => ({
        [DAX]: scriptedEntry([{ at: 1, direction: 'BUY' as const, stopPoints: 20, limitPoints: 10 }]),
      }),
    };
    const { late, now } = both(setup);
    for (const h of [late.h, now]) {
      h.tick(1, 100);
      h.tick(2, 130); // a gap through the limit at 110: filled at 110
    }
    expect(late.h.runner.engine.strategyMtm('s')).toBe(10);
    expect(now.runner.engine.strategyMtm('s')).toBe(10);
    late.broker.deliver();
    expect(late.h.runner.engine.strategyMtm('s')).toBe(10);
    expect(brief(late.h.journal.rows)).toEqual(brief(now.journal.rows));
  });

  it('a position opened on its market’s last tick is not the broker’s yet, even with its stop inside the spread', () => {
    // The broker checks a position from its market's next tick on (step 1 runs before entries):
    // a trip on another market's tick closes it, in the backtest as live.
    const h = harness({
      ...GUARDED,
      entries: {
        [EURUSD]: scriptedEntry([{ at: 1, direction: 'SELL', stopPoints: 500 }]),
        [DAX]: scriptedEntry([{ at: 2, direction: 'SELL', stopPoints: 2 }]),
      },
    });
    h.tick(1, 1.1, 1.1, EURUSD);
    h.tick(2, 100, 103); // SELL at 100, stop 102: the ask is already beyond it
    h.tick(3, 1.105, 1.105, EURUSD); // EURUSD −50, DAX −3 at its ask: trips
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY SELL 1@1.1 stop=1.15 SIGNAL',
      'ENTRY SELL 1@100 stop=102 SIGNAL',
      'EXIT SELL 1@1.105 stop=1.15 STRATEGY_DRAWDOWN pts=-50',
      'EXIT SELL 1@103 stop=102 STRATEGY_DRAWDOWN pts=-3',
    ]);
  });

  it('a stop moved on a tick onto its price (rounded to the decimals) is the broker’s from the next tick on', () => {
    // Trailing 0.4 under 100 is 99.6, which the market's whole decimals round to the bid itself.
    const seen: number[] = [];
    const dax = market({ decimals: 0, exits: { trailing: { activateAt: 0, distance: 0.4 } } });
    const h = harness({
      markets: [dax],
      entries: { [DAX]: watchingEntry(seen, [{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 100);
    expect(h.actions.filter((a) => a.type === 'amendStop').map((a) => a.stopLevel)).toEqual([100]);
    h.tick(3, 100); // the simulated broker fills it here
    expect(seen, 'the position is in the market on the tick its stop moved').toEqual([0, 1, 0]);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=50 SIGNAL',
      'EXIT BUY 1@100 stop=100 TRAILING_STOP pts=0',
    ]);
  });

  it('a time exit falling due on the clock leaves a position whose stop the last tick reached to the broker', () => {
    const dax = market({ exits: { time: { maxHoldMinutes: 1, timezone: 'UTC' } } });
    const broker = new LateFillBroker(new SimBroker([dax]));
    const h = harness({
      markets: [dax],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 5 }]) },
      broker,
    });
    h.tick(1, 100);
    h.tick(30_000, 90); // reaches the stop at 95; the fill is late
    h.runner.onClock(70_000); // maxHold is due
    expect(h.actions.filter((a) => a.type === 'close')).toEqual([]);
    broker.deliver();
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=95 SIGNAL', 'EXIT BUY 1@90 stop=95 STOP pts=-10']);
  });
});
