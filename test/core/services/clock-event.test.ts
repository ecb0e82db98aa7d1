import { describe, expect, it } from 'vitest';
import { CLOCK_EXIT_GRACE_MS, clockEventTime } from '../../../src/core/services/live.js';

const G = CLOCK_EXIT_GRACE_MS;
const NOW = Date.UTC(2026, 10, 22, 12); // the local clock
const FEED = Date.UTC(2024, 2, 14, 8); // recorded ticks replayed: their times are in the past

describe('live clock events run on the feed’s clock (SPEC §2: time exits when no tick arrives)', () => {
  it.each([
    { why: 'before any tick: the local clock, less the grace', feedTime: undefined, at: 0, now: NOW, time: NOW - G },
    {
      why: 'the latest tick’s time, carried on by the local time since it came',
      feedTime: FEED,
      at: NOW - 1500,
      now: NOW,
      time: FEED + 1500 - G,
    },
    {
      why: 'right after a tick: its time, less the grace (a tick due now is left to the next tick)',
      feedTime: FEED,
      at: NOW,
      now: NOW,
      time: FEED - G,
    },
    {
      why: 'a local clock set back since the tick: no time before the tick’s',
      feedTime: FEED,
      at: NOW + 3000,
      now: NOW,
      time: FEED - G,
    },
  ])('$why', ({ feedTime, at, now, time }) => {
    expect(clockEventTime(now, feedTime, at)).toBe(time);
  });
});
