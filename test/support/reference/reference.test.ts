// Hand-computed scenarios for the reference implementation: every expected row below was worked
// out on paper from SPEC.md (the comments show the arithmetic), not copied from a run.
import { describe, expect, it } from 'vitest';
import { referenceJournal, type RefTick } from './index.js';

const HEADER =
  'time,market,deal_id,strategy,direction,action,size,price,stop_level,pnl_points,pnl_amount,r_multiple,reason,held_seconds';
const DAX = 'IX.D.DAX.DAILY.IP';
const FX = 'CS.D.EURUSD.CFD.IP';
const T0 = Date.UTC(2024, 2, 14, 8, 0, 0);

/** A tick `s` seconds after 08:00:00 UTC on 2024-03-14. */
const at = (s: number, bid: number, ask: number, market = DAX): RefTick => ({ time: T0 + s * 1000, market, bid, ask });
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

function run(config: unknown, signals: string, ticks: RefTick[]): string[] {
  const text = referenceJournal({ config, ticks, readFile: () => signals });
  expect(text.endsWith('\n'), 'every journal line ends in a newline').toBe(true);
  return text.slice(0, -1).split('\n');
}

const dax = (extra: Record<string, unknown>): Record<string, unknown> => ({
  pointSize: 1,
  decimals: 1,
  lotStep: 0.1,
  entry: { kind: 'signals', file: 'signals.csv' },
  ...extra,
});

describe('reference journal, hand-computed', () => {
  it('trailing stop: activates at +10, trails by 5, clamped to minStopDistance, hit at the broker', () => {
    const config = {
      markets: { [DAX]: dax({ minStopDistance: 6, exits: { trailing: { activateAt: 10, distance: 5 } } }) },
    };
    const signals = `time,market,direction,size,stopPoints\n${iso(0)},${DAX},BUY,1,20\n`;
    const rows = run(config, signals, [
      at(0, 100, 101), // ENTRY at ask 101, stop 101 − 20 = 81
      at(1, 111, 112), // profit 10 ≥ 10 → active; 111 − 5 = 106, clamp to 111 − 6 = 105 → amend 105
      at(2, 115, 116), // 115 − 5 = 110, clamp to 109 → amend 109
      at(3, 112, 113), // best 115 → 110, clamp to 106: not tighter than 109 → nothing
      at(4, 108, 109), // bid 108 ≤ 109 → broker stop at 108: pnl 7, r 7/20
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,BUY,ENTRY,1,101,81,,,,SIGNAL,`,
      `${iso(4)},${DAX},SIM000001,default,BUY,EXIT,1,108,109,7,7,0.35,TRAILING_STOP,4`,
    ]);
  });

  it('ladder: breakeven at 1R, partial at 2R, LADDER_STOP hit; BREAKEVEN_STOP hit on a SELL', () => {
    const config = { markets: { [DAX]: dax({ exits: { ladder: {} } }) } };
    const signals = [
      'time,market,direction,size,stopPoints',
      `${iso(0)},${DAX},BUY,1,10`,
      `${iso(4)},${DAX},SELL,1,10`,
    ].join('\n');
    const rows = run(config, signals, [
      at(0, 100, 101), // BUY at 101, stop 91, R 10
      at(1, 111, 112), // r = 10/10 = 1 → rung 1 (lock 0) → amend 101 (BREAKEVEN_STOP)
      at(2, 121, 122), // r = 2 → rungs 1.5 and 2; rung 2 closes floor(0.5 × 1 / 0.1) × 0.1 = 0.5; lock 1 → 111
      at(3, 110, 111), // bid 110 ≤ 111 → stop hit at 110: pnl 9, amount 4.5, r 0.9, LADDER_STOP
      at(4, 100, 101), // SELL at bid 100, stop 110, R 10
      at(5, 89, 90), // r = (100 − 90)/10 = 1 → amend 100 (= entry: BREAKEVEN_STOP)
      at(6, 100, 101), // ask 101 ≥ 100 → stop hit at 101: pnl −1, r −0.1
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(2)},${DAX},SIM000001,default,BUY,PARTIAL,0.5,121,101,20,10,2,PROFIT_TARGET,2`,
      `${iso(3)},${DAX},SIM000001,default,BUY,EXIT,0.5,110,111,9,4.5,0.9,LADDER_STOP,3`,
      `${iso(4)},${DAX},SIM000002,default,SELL,ENTRY,1,100,110,,,,SIGNAL,`,
      `${iso(6)},${DAX},SIM000002,default,SELL,EXIT,1,101,100,-1,-1,-0.1,BREAKEVEN_STOP,2`,
    ]);
  });

  it('ladder: custom rungs crossed on one tick close 0.3, 0.2 and the rest (0.5) without size drift', () => {
    const rungs = [
      { at: 1, lock: 0, close: 0.3 },
      { at: 2, lock: 1, close: 0.2 },
      { at: 3, lock: 2, close: 0.5 },
    ];
    const config = { markets: { [DAX]: dax({ exits: { ladder: { rungs } } }) } };
    const signals = `time,market,direction,size,stopPoints\n${iso(0)},${DAX},BUY,1,10\n`;
    const rows = run(config, signals, [
      at(0, 100, 101), // BUY at 101, stop 91, R 10
      at(1, 131, 132), // r = 3: 0.3, then 0.2 (left 0.5), then the last closing rung takes the 0.5 left
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(1)},${DAX},SIM000001,default,BUY,PARTIAL,0.3,131,91,30,9,3,PROFIT_TARGET,1`,
      `${iso(1)},${DAX},SIM000001,default,BUY,PARTIAL,0.2,131,91,30,6,3,PROFIT_TARGET,1`,
      `${iso(1)},${DAX},SIM000001,default,BUY,EXIT,0.5,131,91,30,15,3,PROFIT_TARGET,1`,
    ]);
  });

  it('ATR initial stop: 2 × ATR(2) on 1m mid candles; before ATR exists the block stopPoints', () => {
    const config = {
      markets: {
        [DAX]: dax({
          entry: { kind: 'signals', file: 'signals.csv', stopPoints: 50 },
          exits: { atrStop: { period: 2, multiplier: 2, timeframe: '1m' } },
        }),
      },
    };
    const signals = ['time,market,direction,size', `${iso(30)},${DAX},BUY,1`, `${iso(120)},${DAX},BUY,1`].join('\n');
    const rows = run(config, signals, [
      at(0, 100, 102), // mid 101
      at(30, 104, 106), // mid 105; candle 1 H105 L101 C105. No ATR yet: BUY at 106, stop 106 − 50 = 56
      at(60, 98, 100), // closes candle 1: TR 4
      at(90, 102, 104), // candle 2 H103 L99 C103
      at(120, 100, 102), // closes candle 2: TR max(4, 2, 6) = 6; ATR (4 + 6)/2 = 5; BUY at 102, stop 102 − 10 = 92
      at(150, 91, 93), // bid 91 ≤ 92 → ATR_STOP at 91: pnl −11, r −11/10
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(30)},${DAX},SIM000001,default,BUY,ENTRY,1,106,56,,,,SIGNAL,`,
      `${iso(120)},${DAX},SIM000002,default,BUY,ENTRY,1,102,92,,,,SIGNAL,`,
      `${iso(150)},${DAX},SIM000002,default,BUY,EXIT,1,91,92,-11,-11,-1.1,ATR_STOP,30`,
    ]);
  });

  it('virtual stop: broker stop at safetyDistance, virtual level breached; scalpMaxStop leaves a wide stop alone', () => {
    const config = {
      markets: { [DAX]: dax({ exits: { virtualStop: { distance: 4, safetyDistance: 10, scalpMaxStop: 8 } } }) },
    };
    const signals = [
      'time,market,direction,size,stopPoints',
      `${iso(0)},${DAX},BUY,1,5`,
      `${iso(0)},${DAX},BUY,1,20`,
    ].join('\n');
    const rows = run(config, signals, [
      at(0, 100, 101), // #1: 5 ≤ 8 → safety stop 91, virtual 97, R 4; #2: 20 > 8 → plain stop 81
      at(1, 98, 99), // 98 > 97: no breach
      at(2, 97, 98), // 97 ≤ 97 → VIRTUAL_STOP at 97: pnl −4, r −1; #2 stays open (no row)
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(0)},${DAX},SIM000002,default,BUY,ENTRY,1,101,81,,,,SIGNAL,`,
      `${iso(2)},${DAX},SIM000001,default,BUY,EXIT,1,97,91,-4,-4,-1,VIRTUAL_STOP,2`,
    ]);
  });

  it('limit: widened stop, limit filled at the limit level on a gap', () => {
    const config = { markets: { [DAX]: dax({ minStopDistance: 12 }) } };
    const signals = `time,market,direction,size,stopPoints,limitPoints\n${iso(0)},${DAX},SELL,2,10,15\n`;
    const rows = run(config, signals, [
      at(0, 100, 101), // SELL at bid 100; stop 10 widened to 12 → 112; limit 100 − 15 = 85; R 12
      at(1, 90, 91), // ask 91 > 85
      at(2, 83, 84), // ask 84 ≤ 85 → TAKE_PROFIT at 85: pnl 15, amount 30, r 15/12
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,SELL,ENTRY,2,100,112,,,,SIGNAL,`,
      `${iso(2)},${DAX},SIM000001,default,SELL,EXIT,2,85,112,15,30,1.25,TAKE_PROFIT,2`,
    ]);
  });

  it('time exits: flatAt in Europe/London (BST), entries blocked until local midnight, then maxHold', () => {
    const config = {
      markets: {
        [DAX]: dax({ exits: { time: { flatAt: '17:30', timezone: 'Europe/London', maxHoldMinutes: 60 } } }),
      },
    };
    const signals = [
      'time,market,direction,size,stopPoints',
      `2024-07-01T16:00:00Z,${DAX},BUY,1,50`, // 17:00 London
      `2024-07-01T16:31:00Z,${DAX},BUY,1,50`, // 17:31 London: after flatAt → dropped
      `2024-07-01T23:30:00Z,${DAX},BUY,1,50`, // 00:30 London next day → taken
    ].join('\n');
    const tick = (t: string, bid: number, ask: number): RefTick => ({ time: Date.parse(t), market: DAX, bid, ask });
    const rows = run(config, signals, [
      tick('2024-07-01T16:00:00Z', 100, 101), // ENTRY at 101, stop 51
      tick('2024-07-01T16:29:59Z', 110, 111), // 17:29 local: nothing
      tick('2024-07-01T16:30:00Z', 112, 113), // 17:30 local → END_OF_DAY at 112: pnl 11, r 11/50, 1800 s
      tick('2024-07-01T16:31:00Z', 115, 116), // signal due, blocked → dropped
      tick('2024-07-01T23:30:00Z', 120, 121), // 00:30 local: ENTRY at 121, stop 71
      tick('2024-07-02T00:29:59Z', 119, 120), // held 59:59: nothing
      tick('2024-07-02T00:30:00Z', 118, 119), // held 60 min → TIME_EXIT at 118: pnl −3, r −0.06
    ]);
    expect(rows).toEqual([
      HEADER,
      `2024-07-01T16:00:00.000Z,${DAX},SIM000001,default,BUY,ENTRY,1,101,51,,,,SIGNAL,`,
      `2024-07-01T16:30:00.000Z,${DAX},SIM000001,default,BUY,EXIT,1,112,51,11,11,0.22,END_OF_DAY,1800`,
      `2024-07-01T23:30:00.000Z,${DAX},SIM000002,default,BUY,ENTRY,1,121,71,,,,SIGNAL,`,
      `2024-07-02T00:30:00.000Z,${DAX},SIM000002,default,BUY,EXIT,1,118,71,-3,-3,-0.06,TIME_EXIT,3600`,
    ]);
  });

  it('guard: drawdown trip on an FX tick closes the DAX position at its last bid too, then blocks entries', () => {
    const fx = {
      pointSize: 0.0001,
      decimals: 5,
      valuePerPoint: 10,
      strategy: 's1',
      entry: { kind: 'signals', file: 'x' },
    };
    const config = {
      strategies: { s1: { guard: { maxDrawdown: -20 } } },
      markets: { [DAX]: dax({ strategy: 's1', entry: { kind: 'signals', file: 'x' } }), [FX]: fx },
    };
    const signals = [
      'time,market,direction,size,stopPoints',
      `${iso(0)},${DAX},BUY,1,30`,
      `${iso(0)},${FX},SELL,1,50`,
      `${iso(3)},${DAX},BUY,1,30`, // after the trip → dropped
    ].join('\n');
    const rows = run(config, signals, [
      at(0, 100, 101), // DAX BUY at 101, stop 71, R 30
      at(0, 1.1, 1.1001, FX), // FX SELL at 1.1, stop 1.105, R 0.005
      at(1, 95, 96), // MTM: DAX −6 + FX −1 pt × 10 = −16 > −20
      at(2, 1.1004, 1.1005, FX), // MTM: −6 + (−5 × 10) = −56 ≤ −20 → STRATEGY_DRAWDOWN, in order of entry
      at(3, 100, 101), // entries blocked
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,s1,BUY,ENTRY,1,101,71,,,,SIGNAL,`,
      `${iso(0)},${FX},SIM000002,s1,SELL,ENTRY,1,1.1,1.105,,,,SIGNAL,`,
      `${iso(2)},${DAX},SIM000001,s1,BUY,EXIT,1,95,71,-6,-6,-0.2,STRATEGY_DRAWDOWN,2`,
      `${iso(2)},${FX},SIM000002,s1,SELL,EXIT,1,1.1005,1.105,-5,-50,-0.1,STRATEGY_DRAWDOWN,2`,
    ]);
  });

  it('guard: a loss taken while flat (broker stop) trips before entries, so the due signal is dropped', () => {
    const config = {
      strategies: { s1: { guard: { maxDrawdown: -5 } } },
      markets: { [DAX]: dax({ strategy: 's1' }) },
    };
    const signals = [
      'time,market,direction,size,stopPoints',
      `${iso(0)},${DAX},BUY,1,10`,
      `${iso(2)},${DAX},BUY,1,10`,
    ].join('\n');
    const rows = run(config, signals, [
      at(0, 100, 101), // BUY at 101, stop 91
      at(1, 95, 96), // MTM −6 ≤ −5 at step 2.4 → STRATEGY_DRAWDOWN at 95
      at(2, 95, 96), // entries blocked
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,s1,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(1)},${DAX},SIM000001,s1,BUY,EXIT,1,95,91,-6,-6,-0.6,STRATEGY_DRAWDOWN,1`,
    ]);
    const gap = run(config, signals.replace(`${iso(2)}`, `${iso(1)}`), [
      at(0, 100, 101), // BUY at 101, stop 91
      at(1, 90, 91), // stop hit in step 1 (−11): the engine never sees it; pre-entry guard trips; signal dropped
    ]);
    expect(gap).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,s1,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(1)},${DAX},SIM000001,s1,BUY,EXIT,1,90,91,-11,-11,-1.1,STOP,1`,
    ]);
  });

  it('step 2.7: a profit-lock candidate beyond the bid closes at market with PROFIT_LOCK', () => {
    // lockFraction 1: the candidate is entry + peak profit = the best bid; when the bid is the best, candidate = bid.
    const config = { markets: { [DAX]: dax({ exits: { profitLock: { lockFraction: 1 } } }) } };
    const signals = `time,market,direction,size,stopPoints\n${iso(0)},${DAX},BUY,1,10\n`;
    const rows = run(config, signals, [
      at(0, 100, 101), // BUY at 101, stop 91
      at(1, 105, 106), // peak 4 > 0 → candidate 101 + 4 = 105 ≥ bid 105 → close at 105
    ]);
    expect(rows).toEqual([
      HEADER,
      `${iso(0)},${DAX},SIM000001,default,BUY,ENTRY,1,101,91,,,,SIGNAL,`,
      `${iso(1)},${DAX},SIM000001,default,BUY,EXIT,1,105,91,4,4,0.4,PROFIT_LOCK,1`,
    ]);
  });
});
