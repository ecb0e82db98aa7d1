import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../../src/core/adapters/sim/sim-broker.js';
import { EngineRunner } from '../../../src/core/services/run-engine.js';
import { DAX, market, MemoryJournal, scriptedEntry } from '../../support/engine-harness.js';

describe('run loop', () => {
  it('reports settled state after every tick and every broker event, and only after the actions were sent', () => {
    const cfg = market();
    const sim = new SimBroker([cfg]);
    const log: string[] = [];
    const runner = new EngineRunner({
      setup: {
        markets: [cfg],
        strategies: {},
        entries: new Map([[DAX, scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 10 }])]]),
      },
      broker: sim,
      journal: new MemoryJournal(),
      onAction: (a) => log.push(`send ${a.type}`),
      onLifecycle: (m) => log.push(`lifecycle ${m}`),
      onSettled: () => log.push('settled'),
    });
    runner.processTick({ time: 1, market: DAX, bid: 100, ask: 101 });
    // The open is sent, the simulated fill comes back, the lifecycle is noted, then settled.
    expect(log).toEqual(['send open', `lifecycle ${DAX}`, 'settled']);
    log.length = 0;
    runner.onBrokerEvent({
      type: 'positionClosed',
      time: 2,
      dealId: 'SIM000001',
      size: 1,
      level: 99,
      cause: 'external',
    });
    expect(log, 'an event without any action still settles (state must be written)').toEqual([
      `lifecycle ${DAX}`,
      'settled',
    ]);
  });
});
