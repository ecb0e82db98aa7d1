import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { daysFromCivil } from '../../../../../src/core/adapters/files/ticks/civil.js';
import { parsePrice, TimeParser, type TimeGrammar } from '../../../../../src/core/adapters/files/ticks/fields.js';
import { ZoneResolver } from '../../../../../src/core/adapters/files/ticks/zone.js';
import { UserError } from '../../../../../src/core/domain/errors.js';

function price(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return parsePrice(bytes, 0, bytes.length);
}

function time(text: string, grammar: TimeGrammar = 'standard', zone?: string): number {
  const bytes = new TextEncoder().encode(text);
  return new TimeParser(grammar, zone === undefined ? undefined : new ZoneResolver(zone)).parse(bytes, 0, bytes.length);
}

describe('parsePrice', () => {
  it.each([
    { text: '1.10253', expected: 1.10253, why: 'EURUSD 5-decimal price is the exact JS number' },
    { text: '1.103800', expected: 1.1038, why: 'HistData pads to 6 decimals' },
    { text: '16720.5', expected: 16720.5, why: 'index price' },
    { text: '17900', expected: 17900, why: 'integer price' },
    { text: '0.000001', expected: 0.000001, why: 'tiny price keeps leading zeros as digits' },
    { text: ' 1.5 ', expected: 1.5, why: 'spaces around a field are ignored' },
    { text: '1.5\r', expected: 1.5, why: 'a stray CR is ignored like a space' },
    { text: '+1.5', expected: 1.5, why: 'explicit plus sign' },
    { text: '-1.5', expected: -1.5, why: 'negative parses (then counts as non-positive)' },
    { text: '.5', expected: 0.5, why: 'no integer part, as Number() accepts' },
    { text: '5.', expected: 5, why: 'no fraction digits, as Number() accepts' },
    { text: '1.5e2', expected: 150, why: 'exponent goes through Number()' },
    { text: '203.14900000000003', expected: 203.14900000000003, why: 'Dukascopy float noise: 17 digits via Number()' },
  ])('$text → $expected ($why)', ({ text, expected }) => {
    expect(Object.is(price(text), expected), `${text} must equal ${expected}`).toBe(true);
  });

  it.each([
    { text: '', why: 'empty' },
    { text: '   ', why: 'blank' },
    { text: '1.1O254', why: 'letter O typed for a zero' },
    { text: '1,5', why: 'decimal comma' },
    { text: '1.2.3', why: 'two dots' },
    { text: '.', why: 'a dot alone' },
    { text: '-', why: 'a sign alone' },
    { text: '0x10', why: 'hex is not a price although Number() reads it' },
    { text: 'Infinity', why: 'not a finite price' },
    { text: '1e999', why: 'overflows to Infinity' },
    { text: 'NaN', why: 'not a number' },
    { text: '1 5', why: 'space inside' },
  ])('rejects $text ($why)', ({ text }) => {
    expect(price(text)).toBeNaN();
  });

  it('agrees with Number() on every plain decimal (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.integer({ min: 0, max: 17 }), (mantissa, scale) => {
        const digits = mantissa.toString().padStart(scale + 1, '0');
        const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
        expect(Object.is(price(text), Number(text)), `${text}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('TimeParser standard', () => {
  it.each([
    { text: '2024-01-02T08:00:00.123Z', iso: '2024-01-02T08:00:00.123Z', why: 'ISO with ms and Z' },
    { text: '2024-01-02T08:00:00Z', iso: '2024-01-02T08:00:00.000Z', why: 'ISO without ms' },
    { text: '2024-01-02 08:00:00.123Z', iso: '2024-01-02T08:00:00.123Z', why: 'space separator' },
    { text: '2024-01-02t08:00:00z', iso: '2024-01-02T08:00:00.000Z', why: 'lower-case t and z' },
    { text: '2024-01-02T09:00:00.5+01:00', iso: '2024-01-02T08:00:00.500Z', why: '+01:00 offset, 1 fraction digit' },
    { text: '2024-01-02T03:00:00-0500', iso: '2024-01-02T08:00:00.000Z', why: '-0500 offset without colon' },
    { text: '2024-01-02T10:00:00+02', iso: '2024-01-02T08:00:00.000Z', why: 'hours-only offset' },
    { text: '2024-01-02T08:00Z', iso: '2024-01-02T08:00:00.000Z', why: 'no seconds' },
    { text: '2024-01-02T08:00:00.123456789Z', iso: '2024-01-02T08:00:00.123Z', why: 'sub-ms digits are truncated' },
    { text: '2024-01-02T08:00:00.12Z', iso: '2024-01-02T08:00:00.120Z', why: 'two fraction digits are hundredths' },
    { text: '2024-01-02T08:00:00.000', iso: '2024-01-02T08:00:00.000Z', why: 'no zone = UTC' },
    { text: '2024-02-29T00:00:00Z', iso: '2024-02-29T00:00:00.000Z', why: 'leap day' },
    { text: '1704182400123', iso: '2024-01-02T08:00:00.123Z', why: 'epoch ms' },
    { text: ' 1704182400123 ', iso: '2024-01-02T08:00:00.123Z', why: 'epoch ms with spaces around' },
  ])('$text ($why)', ({ text, iso }) => {
    expect(new Date(time(text)).toISOString()).toBe(iso);
  });

  it.each([
    { text: 'yesterday', why: 'words' },
    { text: '2023-02-29T00:00:00Z', why: 'no leap day in 2023' },
    { text: '2024-13-01T00:00:00Z', why: 'month 13' },
    { text: '2024-01-02T24:00:00Z', why: 'hour 24' },
    { text: '2024-01-02T08:60:00Z', why: 'minute 60' },
    { text: '2024-01-02T08:00:60Z', why: 'leap second' },
    { text: '2024-01-02', why: 'a date is not a tick time' },
    { text: '2024-01-02T08:00:00.Z', why: 'dot without digits' },
    { text: '2024-01-02T08:00:00+25:00', why: 'offset out of range' },
    { text: '2024-01-02T08:00:00 Z', why: 'space before Z' },
    { text: '2024-01-02X08:00:00Z', why: 'bad separator' },
    { text: '1.70418240e12', why: 'epoch ms are digits only' },
    { text: '-1704182400123', why: 'epoch ms have no sign' },
    { text: '99999999999999999', why: 'beyond the Date range' },
  ])('rejects $text ($why)', ({ text }) => {
    expect(time(text)).toBeNaN();
  });
});

describe('TimeParser histdata and dukascopy', () => {
  it.each([
    { text: '20240102 170000123', iso: '2024-01-02T22:00:00.123Z', why: 'EST is UTC−5' },
    { text: '20240703 120000000', iso: '2024-07-03T17:00:00.000Z', why: 'no daylight saving in July' },
  ])('histdata $text ($why)', ({ text, iso }) => {
    expect(new Date(time(text, 'histdata', 'Europe/Berlin')).toISOString()).toBe(iso);
  });

  it.each([
    { text: '20240102 1700001', why: 'too short' },
    { text: '2024-01-02 170000123', why: 'dashes' },
    { text: '20240102T170000123', why: 'T instead of space' },
  ])('histdata rejects $text ($why)', ({ text }) => {
    expect(time(text, 'histdata')).toBeNaN();
  });

  it.each([
    { text: '02.01.2024 00:00:00.123', iso: '2024-01-02T00:00:00.123Z', why: 'day-first JForex export' },
    { text: '02.01.2024 00:00:00', iso: '2024-01-02T00:00:00.000Z', why: 'without ms' },
    { text: '02.01.2024 01:00:00.000 GMT+0100', iso: '2024-01-02T00:00:00.000Z', why: 'local-time export with offset' },
    { text: '2024.01.02 00:00:00', iso: '2024-01-02T00:00:00.000Z', why: 'year-first variant' },
    { text: '2024-01-02T00:00:00Z', iso: '2024-01-02T00:00:00.000Z', why: 'ISO still accepted' },
  ])('dukascopy $text ($why)', ({ text, iso }) => {
    expect(new Date(time(text, 'dukascopy')).toISOString()).toBe(iso);
  });

  it('dukascopy rejects a month-first date that does not exist', () => {
    expect(time('13.13.2024 00:00:00', 'dukascopy')).toBeNaN();
  });
});

describe('timezone for ISO times without a zone', () => {
  it.each([
    // Europe/London: BST from 2024-03-31 01:00Z to 2024-10-27 01:00Z.
    { zone: 'Europe/London', local: '2024-01-15 12:00:00', iso: '2024-01-15T12:00:00.000Z', why: 'winter = UTC' },
    { zone: 'Europe/London', local: '2024-07-15 12:00:00', iso: '2024-07-15T11:00:00.000Z', why: 'summer = UTC+1' },
    {
      zone: 'Europe/London',
      local: '2024-03-31 00:59:59.999',
      iso: '2024-03-31T00:59:59.999Z',
      why: 'just before spring forward',
    },
    {
      zone: 'Europe/London',
      local: '2024-03-31 01:30:00',
      iso: '2024-03-31T01:30:00.000Z',
      why: 'skipped hour moves forward (= 02:30 BST)',
    },
    { zone: 'Europe/London', local: '2024-03-31 02:00:00', iso: '2024-03-31T01:00:00.000Z', why: 'first BST minute' },
    {
      zone: 'Europe/London',
      local: '2024-10-27 00:59:00',
      iso: '2024-10-26T23:59:00.000Z',
      why: 'before fall back, BST',
    },
    {
      zone: 'Europe/London',
      local: '2024-10-27 01:30:00',
      iso: '2024-10-27T00:30:00.000Z',
      why: 'repeated hour = its first (BST) occurrence',
    },
    {
      zone: 'Europe/London',
      local: '2024-10-27 02:00:00',
      iso: '2024-10-27T02:00:00.000Z',
      why: 'after fall back, GMT',
    },
    // America/New_York: EDT from 2024-03-10 07:00Z to 2024-11-03 06:00Z.
    {
      zone: 'America/New_York',
      local: '2024-03-10 01:59:00',
      iso: '2024-03-10T06:59:00.000Z',
      why: 'EST before the gap',
    },
    {
      zone: 'America/New_York',
      local: '2024-03-10 03:00:00',
      iso: '2024-03-10T07:00:00.000Z',
      why: 'EDT after the gap',
    },
    {
      zone: 'America/New_York',
      local: '2024-11-03 01:30:00',
      iso: '2024-11-03T05:30:00.000Z',
      why: 'repeated hour = EDT occurrence',
    },
    {
      zone: 'America/New_York',
      local: '2024-11-03 02:30:00',
      iso: '2024-11-03T07:30:00.000Z',
      why: 'EST after fall back',
    },
    {
      zone: 'Australia/Lord_Howe',
      local: '2024-04-07 01:45:00',
      iso: '2024-04-06T14:45:00.000Z',
      why: 'half-hour DST, repeated 01:30–02:00',
    },
    {
      zone: 'Asia/Kolkata',
      local: '2024-01-02 13:30:00',
      iso: '2024-01-02T08:00:00.000Z',
      why: 'half-hour offset, no DST',
    },
  ])('$zone $local ($why)', ({ zone, local, iso }) => {
    expect(new Date(time(local, 'standard', zone)).toISOString()).toBe(iso);
  });

  it('does not apply to times that carry a zone', () => {
    expect(new Date(time('2024-07-15T12:00:00Z', 'standard', 'Europe/London')).toISOString()).toBe(
      '2024-07-15T12:00:00.000Z',
    );
  });

  it('agrees with Intl on every hour of a DST year (property over the cache)', () => {
    const zone = new ZoneResolver('Europe/Berlin');
    for (let utc = Date.UTC(2024, 0, 1); utc < Date.UTC(2025, 0, 1); utc += 3_600_000 + 1234) {
      const local = utc + zone.offsetAt(utc);
      const back = zone.toUtc(local);
      // In the repeated hour the first occurrence is chosen, so only non-repeated times round-trip.
      const repeated = zone.offsetAt(utc - 3_600_000) !== zone.offsetAt(utc);
      if (!repeated) expect(back, new Date(utc).toISOString()).toBe(utc);
    }
  });

  it('rejects an unknown zone with a UserError', () => {
    expect(() => new ZoneResolver('Mars/Olympus')).toThrow(UserError);
  });
});

describe('daysFromCivil', () => {
  it('matches Date.UTC over four centuries (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1600, max: 2400 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        (y, m, d) => {
          expect(daysFromCivil(y, m, d) * 86_400_000).toBe(Date.UTC(y, m - 1, d));
        },
      ),
    );
  });
});
