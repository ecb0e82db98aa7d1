import { describe, expect, it } from 'vitest';

import { isValidTimeZone, parseClockTime, parseTimeframe } from '../../../src/core/config/units.js';

describe('parseTimeframe', () => {
  it.each([
    ['30s', 30_000, 'seconds'],
    ['1m', 60_000, 'one minute'],
    ['15m', 900_000, 'fifteen minutes'],
    ['1h', 3_600_000, 'one hour'],
    ['4h', 14_400_000, 'four hours'],
    ['1d', 86_400_000, 'one day: the ATR default'],
  ])('%s → %d ms (%s)', (text, ms) => {
    expect(parseTimeframe(text)).toBe(ms);
  });

  it.each([
    ['0m', 'a zero-length candle'],
    ['1', 'no unit'],
    ['1y', 'unknown unit'],
    ['1M', 'units are lower case: M is not minutes'],
    ['m', 'no count'],
    ['-1m', 'negative'],
    ['1.5h', 'fractions are not accepted'],
    ['', 'empty'],
  ])('rejects %j (%s)', (text) => {
    expect(parseTimeframe(text)).toBeUndefined();
  });
});

describe('parseClockTime', () => {
  it.each([
    ['21:55', 1315, 'the SPEC §7 example'],
    ['00:00', 0, 'midnight'],
    ['9:30', 570, 'a one-digit hour'],
    ['23:59', 1439, 'last minute of the day'],
  ])('%s → %d minutes (%s)', (text, minutes) => {
    expect(parseClockTime(text)).toBe(minutes);
  });

  it.each([
    ['24:00', 'hour out of range'],
    ['12:60', 'minute out of range'],
    ['1230', 'no colon'],
    ['12:5', 'one-digit minute'],
    ['noon', 'words'],
  ])('rejects %j (%s)', (text) => {
    expect(parseClockTime(text)).toBeUndefined();
  });
});

describe('isValidTimeZone', () => {
  it.each([
    ['UTC', true, 'the default'],
    ['Europe/London', true, 'IANA zone of the SPEC example'],
    ['America/New_York', true, 'IANA zone with underscore'],
    ['Europe/Londres', false, 'misspelt zone'],
    ['Mars/Olympus', false, 'no such zone'],
    ['', false, 'empty'],
  ])('%j → %s (%s)', (zone, valid) => {
    expect(isValidTimeZone(zone)).toBe(valid);
  });
});
