import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../../../src/core/adapters/sim/sim-broker.js';
import type { BrokerEvent } from '../../../../src/core/ports/broker.js';
import { DAX, market } from '../../../support/engine-harness.js';

function book(withE = true): { sim: SimBroker; events: BrokerEvent[] } {
  const sim = new SimBroker([market()]);
  const events: BrokerEvent[] = [];
  sim.setEventHandler((event) => events.push(event));
  const seed = (dealId: string, direction: 'BUY' | 'SELL', stopLevel?: number, limitLevel?: number): void =>
    sim.seed({ dealId, market: DAX, direction, size: 1, stopLevel, limitLevel });
  seed('A', 'BUY', 90); // not reached at bid 95
  seed('B', 'BUY', 96); // stop reached: fills at the bid
  seed('C', 'SELL', 110, 96); // limit reached at ask 96: fills at the limit
  seed('D', 'BUY', 80, 200); // neither
  if (withE) seed('E', 'SELL', 95.5); // stop reached at ask 96: fills at the ask (slippage)
  return { sim, events };
}

describe('simulated broker, stops and limits on a tick (SPEC §3 step 1)', () => {
  it('fills every position whose stop or limit the tick reached, in book order, and leaves the others', () => {
    const { sim, events } = book();
    sim.onTick({ time: 5, market: DAX, bid: 95, ask: 96 });
    expect(events.map((e) => (e.type === 'positionClosed' ? [e.dealId, e.cause, e.level] : e.type))).toEqual([
      ['B', 'stop', 95],
      ['C', 'limit', 96],
      ['E', 'stop', 96],
    ]);
    expect(sim.positions().map((p) => p.dealId)).toEqual(['A', 'D']);
  });

  it('fills the first position of the book too, and nothing on a tick that reaches no level', () => {
    const { sim, events } = book(false);
    sim.onTick({ time: 5, market: DAX, bid: 100, ask: 101 });
    expect(events, 'no level reached at 100/101').toEqual([]);
    sim.onTick({ time: 6, market: DAX, bid: 89, ask: 90 });
    expect(events.map((e) => (e.type === 'positionClosed' ? e.dealId : e.type))).toEqual(['A', 'B', 'C']);
    expect(sim.positions().map((p) => p.dealId)).toEqual(['D']);
  });
});

describe('simulated broker, deal ids', () => {
  it('never gives a deal id twice: new ids follow those of the seeded book and of the ids it is told of', () => {
    const opened = (sim: SimBroker) => {
      const events: BrokerEvent[] = [];
      sim.setEventHandler((event) => events.push(event));
      sim.onTick({ time: 5, market: DAX, bid: 100, ask: 101 });
      sim.submit({
        type: 'open',
        ref: 'r',
        market: DAX,
        direction: 'BUY',
        size: 1,
        reason: 'SIGNAL',
        strategy: 'default',
        expectedLevel: 101,
        virtual: false,
        stopReason: 'STOP',
      });
      return events.map((e) => (e.type === 'positionOpened' ? e.dealId : e.type));
    };
    const seeded = new SimBroker([market()], 'PAPER');
    seeded.seed({
      dealId: 'PAPER000007',
      market: DAX,
      direction: 'BUY',
      size: 1,
      stopLevel: undefined,
      limitLevel: undefined,
    });
    expect(opened(seeded)).toEqual(['PAPER000008']);
    const told = new SimBroker([market()], 'PAPER');
    told.dealIdsAfter(['PAPER000003', 'DIAAAA000000009', 'PAPER000012', 'PAPERX', 'SIM000099']);
    expect(opened(told)).toEqual(['PAPER000013']);
    expect(opened(new SimBroker([market()], 'PAPER'))).toEqual(['PAPER000001']);
  });
});
