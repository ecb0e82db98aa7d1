import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AmendStopAction, CloseAction, OpenAction } from '../../../../src/core/domain/events.js';
import { BrokerRejected } from '../../../../src/core/domain/errors.js';
import {
  activityFromIg,
  confirmFromIg,
  confirmToEvent,
  DEAL_REFERENCE_PATTERN,
  dealReferenceFor,
  inferCloseCause,
  isPartialClose,
  marketRulesFromIg,
  minStopDistanceInPoints,
  newDealReference,
  ownOpenReference,
  parseIgAmount,
  parseOwnOpenReference,
  parseIgTime,
  positionFromIg,
  positionOpenedEvent,
  positionUpdateFromOpu,
  positionUpdateToEvents,
  strategyTag,
  transactionFromIg,
  type MarketRules,
  type PositionUpdate,
  type TrackedPosition,
} from '../../../../src/core/adapters/ig/mapper.js';
import {
  activitiesSchema,
  confirmSchema,
  marketSchema,
  opuSchema,
  parseIg,
  positionsSchema,
  transactionsSchema,
} from '../../../../src/core/adapters/ig/schemas.js';
import * as samples from './ig-samples.js';

describe('parseIgTime', () => {
  it.each([
    { input: '2020-06-01T12:00:00', ms: Date.UTC(2020, 5, 1, 12), reason: 'createdDateUTC: no zone means UTC' },
    {
      input: '2022-05-20T10:40:17.609',
      ms: Date.UTC(2022, 4, 20, 10, 40, 17, 609),
      reason: 'confirm date / OPU timestamp with ms',
    },
    { input: '2022-05-20T10:40:17.609Z', ms: Date.UTC(2022, 4, 20, 10, 40, 17, 609), reason: 'explicit Z' },
    { input: '2022-05-20T12:40:17+02:00', ms: Date.UTC(2022, 4, 20, 10, 40, 17), reason: 'explicit offset' },
    { input: '2020/06/01 12:00:00:000', ms: Date.UTC(2020, 5, 1, 12), reason: 'v1 yyyy/MM/dd HH:mm:ss:SSS form' },
    { input: '1653043217609', ms: 1653043217609, reason: 'stream UTM: epoch ms as a string' },
    { input: 1653043217609, ms: 1653043217609, reason: 'epoch ms as a number' },
  ])('$input → $ms ($reason)', ({ input, ms }) => {
    expect(parseIgTime(input)).toBe(ms);
  });

  it.each(['', 'yesterday', '20/05/22', 'NaN'])('refuses %j with an unexpected-payload error, never NaN', (input) => {
    expect(() => parseIgTime(input, 'x')).toThrow(BrokerRejected);
  });
});

describe('parseIgAmount', () => {
  it.each([
    { input: '+1.00', out: 1, reason: 'signed size' },
    { input: '-2.07', out: -2.07, reason: 'short size' },
    { input: 'E-8.79', out: -8.79, reason: 'P&L with currency symbol' },
    { input: '£1,234.50', out: 1234.5, reason: 'thousands separator' },
    { input: '-', out: undefined, reason: 'IG writes "-" for none' },
    { input: null, out: undefined, reason: 'null' },
  ])('$input → $out ($reason)', ({ input, out }) => {
    expect(parseIgAmount(input)).toBe(out);
  });
});

describe('deal references', () => {
  it('keeps a valid engine ref as it is, so /confirms can be asked with it after a restart', () => {
    expect(dealReferenceFor('open-42_a')).toBe('open-42_a');
  });

  it('turns any other ref into a valid, deterministic one', () => {
    const ref = 'open:IX.D.DAX.DAILY.IP:2024-01-02T10:00:00.000Z:1';
    const a = dealReferenceFor(ref);
    expect(a).toMatch(DEAL_REFERENCE_PATTERN);
    expect(dealReferenceFor(ref)).toBe(a);
    expect(dealReferenceFor(`${ref}x`)).not.toBe(a);
  });

  it('generates fresh valid references', () => {
    const a = newDealReference();
    expect(a).toMatch(DEAL_REFERENCE_PATTERN);
    expect(newDealReference()).not.toBe(a);
  });

  it("marks trailguard's own opens: the mark comes back from the reference, nothing else reads as one", () => {
    const tag = strategyTag('scalper');
    expect(tag).toHaveLength(4);
    expect(strategyTag('swing')).not.toBe(tag);
    for (const [virtual, atrStop] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const reference = ownOpenReference('mwr3cp2f-A12345', { virtual, atrStop, strategyTag: tag });
      expect(reference).toMatch(DEAL_REFERENCE_PATTERN);
      expect(parseOwnOpenReference(reference)).toEqual({ virtual, atrStop, strategyTag: tag });
    }
    // With the state directory's tag (flags 4–7), as every open is sent now.
    for (const dirTag of ['Zx_9', '-ab-']) {
      const reference = ownOpenReference('mwr3cp2f-A12345', {
        virtual: true,
        atrStop: false,
        strategyTag: tag,
        dirTag,
      });
      expect(reference).toMatch(/^TG5.{8}-mwr3cp2f-A12345$/);
      expect(parseOwnOpenReference(reference)).toEqual({ virtual: true, atrStop: false, strategyTag: tag, dirTag });
    }
    // Too long for IG's 30 characters: no mark (the broker hashes the plain reference instead).
    expect(
      ownOpenReference('mwr3cp2f-A12345678901234', { virtual: false, atrStop: false, strategyTag: tag }),
    ).toBeUndefined();
    for (const other of [
      undefined,
      'mwr3cp2f-A1',
      newDealReference(),
      'TG4abcd-x',
      'TG1abc-x',
      'TG1abcd',
      `TG1abcd-${'x'.repeat(30)}`,
    ])
      expect(parseOwnOpenReference(other)).toBeUndefined();
  });
});

describe('positions', () => {
  const positions = parseIg(positionsSchema, samples.positionsV2, 'GET /positions').positions.map(positionFromIg);

  it('maps GET /positions v2 to domain positions', () => {
    expect(positions[1]).toEqual({
      dealId: 'ABCDE54321',
      dealReference: 'ABCDE54321X',
      market: 'MT.D.XYZ.MONTH1.IP',
      direction: 'SELL',
      size: 15,
      level: 1800,
      stopLevel: 1810.2,
      limitLevel: 1790.5,
      openedAt: Date.UTC(2020, 5, 10, 12, 17, 55),
      currency: 'GBP',
      bid: 1865.3,
      ask: 1865.9,
    });
    expect(positions[0]?.stopLevel, 'null levels become absent').toBeUndefined();
  });

  it('an adopted position becomes positionOpened without a ref', () => {
    const [first] = positions;
    if (!first) throw new Error('no position');
    expect(positionOpenedEvent(first, { strategy: 'adopted' })).toEqual({
      type: 'positionOpened',
      time: Date.UTC(2020, 5, 1, 12),
      dealId: 'ABCDE12345',
      market: 'MT.D.ABC.Month1.IP',
      direction: 'BUY',
      size: 10,
      level: 17000,
      strategy: 'adopted',
    });
  });
});

describe('confirms', () => {
  const accepted = confirmFromIg(parseIg(confirmSchema, samples.confirmAccepted, 'c'));
  const rejected = confirmFromIg(parseIg(confirmSchema, samples.confirmRejected, 'c'));
  const closed = confirmFromIg(parseIg(confirmSchema, samples.confirmClosed, 'c'));

  const open: OpenAction = {
    type: 'open',
    ref: 'o1',
    market: 'IX.D.DAX.DAILY.IP',
    direction: 'BUY',
    size: 1,
    expectedLevel: 16001,
    stopLevel: 15990,
    strategy: 's',
    reason: 'SIGNAL',
    virtual: false,
    stopReason: 'STOP',
  };
  const amend: AmendStopAction = {
    type: 'amendStop',
    ref: 'a1',
    dealId: 'DIAAAAH2V7N74A6',
    market: 'IX.D.DAX.DAILY.IP',
    stopLevel: 16000,
    reason: 'TRAILING_STOP',
  };
  const close: CloseAction = {
    type: 'close',
    ref: 'c1',
    dealId: 'DIAAAAH2V7N74A6',
    market: 'IX.D.DAX.DAILY.IP',
    direction: 'BUY',
    size: 1,
    reason: 'VIRTUAL_STOP',
  };

  it('maps the confirm and its time', () => {
    expect(accepted).toMatchObject({
      dealStatus: 'ACCEPTED',
      dealId: 'DIAAAAH2V7N74A6',
      level: 16001.5,
      size: 1,
      stopLevel: 15990,
      settledBy: 'confirm',
    });
    expect(accepted.time).toBe(Date.UTC(2022, 4, 20, 10, 40, 17, 609));
    expect(accepted.limitLevel).toBeUndefined();
  });

  it.each([
    {
      what: 'open',
      confirm: accepted,
      action: open as OpenAction | AmendStopAction | CloseAction,
      type: 'positionOpened',
      reason: 'the fill level is the confirm level, not the expected one',
    },
    {
      what: 'amend',
      confirm: { ...accepted, status: 'AMENDED', stopLevel: 16000 },
      action: amend,
      type: 'positionAmended',
      reason: 'levels from the confirm',
    },
    {
      what: 'close',
      confirm: closed,
      action: close,
      type: 'positionClosed',
      reason: 'level and size from the confirm',
    },
    {
      what: 'rejected open',
      confirm: rejected,
      action: open,
      type: 'actionRejected',
      reason: 'IG reason carried to the engine',
    },
  ])('$what → $type ($reason)', ({ confirm, action, type }) => {
    const event = confirmToEvent(confirm, action);
    expect(event.type).toBe(type);
    if (event.type === 'positionOpened')
      expect(event).toMatchObject({ ref: 'o1', level: 16001.5, strategy: 's', stopLevel: 15990 });
    if (event.type === 'positionClosed')
      expect(event).toMatchObject({ ref: 'c1', level: 16030, size: 1, cause: 'action' });
    if (event.type === 'actionRejected')
      expect(event).toMatchObject({ ref: 'o1', reason: 'ATTACHED_ORDER_LEVEL_ERROR' });
    if (event.type === 'positionAmended') expect(event).toMatchObject({ ref: 'a1', stopLevel: 16000 });
  });

  it('the close command reports cause manual', () => {
    expect(confirmToEvent(closed, close, { cause: 'manual' })).toMatchObject({ cause: 'manual' });
  });
});

describe('OPU → domain events', () => {
  const base = positionUpdateFromOpu(parseIg(opuSchema, samples.opuOpen, 'OPU'));
  const buy: TrackedPosition = { direction: 'BUY', size: 2, stopLevel: 15990, limitLevel: 16050 };
  const update = (over: Partial<PositionUpdate>): PositionUpdate => ({ ...base, ...over });

  it('maps an OPU, UTC timestamp included', () => {
    expect(base).toMatchObject({
      dealId: 'DIAAAAH2V7N74A6',
      market: 'IX.D.DAX.DAILY.IP',
      status: 'OPEN',
      level: 16001.5,
      size: 1,
      stopLevel: 15990,
      limitLevel: 16050,
    });
    expect(base.time).toBe(Date.UTC(2022, 4, 20, 10, 40, 17, 650));
  });

  it.each([
    {
      what: 'OPEN of a deal not ours',
      u: update({}),
      previous: undefined,
      ownRef: undefined,
      expected: [
        {
          type: 'positionOpened',
          dealId: 'DIAAAAH2V7N74A6',
          size: 1,
          level: 16001.5,
          stopLevel: 15990,
          limitLevel: 16050,
        },
      ],
      reason: 'adopted: no ref',
    },
    {
      what: 'OPEN of our deal',
      u: update({}),
      previous: undefined,
      ownRef: 'o1',
      expected: [{ type: 'positionOpened', ref: 'o1' }],
      reason: 'our ref comes back',
    },
    {
      what: 'UPDATED with a smaller size',
      u: update({ status: 'UPDATED', size: 0.5, level: 16001.5 }),
      previous: buy,
      ownRef: undefined,
      expected: [{ type: 'positionClosed', size: 1.5, cause: 'external' }],
      reason: 'a partial close: size closed = previous − new',
    },
    {
      what: 'UPDATED with new levels',
      u: update({ status: 'UPDATED', size: 2, stopLevel: 16000 }),
      previous: buy,
      ownRef: undefined,
      expected: [{ type: 'positionAmended', stopLevel: 16000, limitLevel: 16050 }],
      reason: 'an amend made on the platform',
    },
    {
      what: 'UPDATED with nothing changed',
      u: update({ status: 'UPDATED', size: 2 }),
      previous: buy,
      ownRef: undefined,
      expected: [],
      reason: 'no news, no event',
    },
    {
      what: 'DELETED at or below the stop (BUY)',
      u: update({ status: 'DELETED', size: 0, level: 15988, channel: 'OSAutoStopFill' }),
      previous: buy,
      ownRef: undefined,
      expected: [{ type: 'positionClosed', size: 2, level: 15988, cause: 'stop' }],
      reason: 'a gap through the stop fills below it',
    },
    {
      what: 'DELETED at the limit (BUY)',
      u: update({ status: 'DELETED', size: 0, level: 16050, channel: 'OSAutoStopFill' }),
      previous: buy,
      ownRef: undefined,
      expected: [{ type: 'positionClosed', size: 2, level: 16050, cause: 'limit' }],
      reason: 'levels decide, even on the stop-fill channel',
    },
    {
      what: 'DELETED between the levels',
      u: update({ status: 'DELETED', size: 0, level: 16020, channel: 'WTP' }),
      previous: buy,
      ownRef: undefined,
      expected: [{ type: 'positionClosed', size: 2, level: 16020, cause: 'external' }],
      reason: 'closed on the web platform',
    },
    {
      what: 'DELETED of our close',
      u: update({ status: 'DELETED', size: 0, level: 16020 }),
      previous: buy,
      ownRef: 'c1',
      expected: [{ type: 'positionClosed', ref: 'c1', cause: 'action' }],
      reason: 'our own close',
    },
    {
      what: 'REJECTED',
      u: update({ dealStatus: 'REJECTED' }),
      previous: undefined,
      ownRef: undefined,
      expected: [],
      reason: 'rejections come from the confirm',
    },
  ])('$what → $expected.length event(s) ($reason)', ({ u, previous, ownRef, expected }) => {
    const events = positionUpdateToEvents(u, { previous, ownRef });
    expect(events).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(events[i]).toMatchObject(e));
  });

  it('a partial close reports the fill level it is given (the OPU carries the opening level)', () => {
    const u = update({ status: 'UPDATED', size: 1.2, level: 16001.5 });
    const previous: TrackedPosition = { direction: 'BUY', size: 1.3 };
    expect(isPartialClose(u, previous)).toBe(true);
    const [closed] = positionUpdateToEvents(u, { previous, partialCloseLevel: 16040 });
    expect(closed).toMatchObject({ type: 'positionClosed', size: 0.1, level: 16040 });
  });

  it.each([
    {
      direction: 'SELL' as const,
      level: 101,
      stop: 100,
      limit: 90,
      cause: 'stop',
      reason: 'SELL exits at ask: at/above the stop',
    },
    { direction: 'SELL' as const, level: 90, stop: 100, limit: 90, cause: 'limit', reason: 'SELL limit below' },
    { direction: 'SELL' as const, level: 95, stop: 100, limit: 90, cause: 'external', reason: 'between the levels' },
  ])('SELL close at $level → $cause ($reason)', ({ direction, level, stop, limit, cause }) => {
    expect(
      inferCloseCause(update({ status: 'DELETED', level, channel: 'WTP' }), {
        direction,
        size: 1,
        stopLevel: stop,
        limitLevel: limit,
      }),
    ).toBe(cause);
  });

  it('without known levels the channel is the hint', () => {
    expect(inferCloseCause(update({ status: 'DELETED', channel: 'OSAutoStopFill' }), undefined)).toBe('stop');
    expect(inferCloseCause(update({ status: 'DELETED', channel: 'WTP' }), undefined)).toBe('external');
  });
});

describe('market rules', () => {
  const rules = marketRulesFromIg(parseIg(marketSchema, samples.marketV3, 'GET /markets'));

  it('reads decimals, minimum distance, default currency and expiry', () => {
    expect(rules).toMatchObject({
      market: 'CO.D.CFI.Month2.IP',
      decimals: 1,
      scalingFactor: 1,
      brokerPointSize: 1,
      minStopDistanceRule: { unit: 'POINTS', value: 10 },
      currency: 'GBP',
      expiry: 'DEC-24',
      minDealSize: 0.25,
      bid: 8933,
      ask: 8939,
    });
  });

  const fx: MarketRules = {
    ...rules,
    scalingFactor: 10000,
    brokerPointSize: 0.0001,
    decimals: 5,
    bid: 1.10003,
    ask: 1.10013,
    minStopDistanceRule: { unit: 'POINTS', value: 3 },
  };

  it.each([
    {
      what: 'index in points',
      rules,
      pointSize: 1,
      points: 10,
      reason: 'IG points = config points when pointSize is 1',
    },
    {
      what: 'FX, IG points of 0.0001',
      rules: fx,
      pointSize: 0.0001,
      points: 3,
      reason: 'no float noise: 2.9999999 must be 3',
    },
    { what: 'FX measured in pips of 0.00001', rules: fx, pointSize: 0.00001, points: 30, reason: 'unit conversion' },
    {
      what: 'a percentage rule',
      rules: { ...rules, bid: 99, ask: 101, minStopDistanceRule: { unit: 'PERCENTAGE' as const, value: 1 } },
      pointSize: 0.5,
      points: 2,
      reason: '1% of mid 100 = 1.0 price = 2 points of 0.5',
    },
  ])('$what → $points points ($reason)', ({ rules: r, pointSize, points }) => {
    expect(minStopDistanceInPoints(r, pointSize)).toBe(points);
  });

  it('a percentage rule without a price is unknown, not zero', () => {
    expect(
      minStopDistanceInPoints({ ...rules, bid: undefined, minStopDistanceRule: { unit: 'PERCENTAGE', value: 1 } }, 1),
    ).toBeUndefined();
  });
});

describe('history', () => {
  it('maps a v2 transaction, parsing its string numbers', () => {
    const [t] = parseIg(transactionsSchema, samples.transactionsV2, 'tx').transactions.map(transactionFromIg);
    expect(t).toEqual({
      reference: 'H2V7N80A',
      type: 'DEAL',
      instrumentName: 'Germany 40',
      openedAt: Date.UTC(2022, 4, 20, 10, 40, 17),
      closedAt: Date.UTC(2022, 4, 20, 10, 45),
      openLevel: 16001.5,
      closeLevel: 16030,
      size: 1,
      profitAndLoss: 28.5,
      currency: 'EUR',
    });
  });

  it('maps a v3 activity with its actions', () => {
    const [a] = parseIg(activitiesSchema, samples.activityV3, 'act').activities.map(activityFromIg);
    expect(a).toMatchObject({
      time: Date.UTC(2022, 4, 20, 10, 45),
      dealId: 'DIAAAAH2V7N80AA',
      type: 'POSITION',
      status: 'ACCEPTED',
      dealReference: 'CLOSEREF1',
      actions: [{ actionType: 'POSITION_CLOSED', affectedDealId: 'DIAAAAH2V7N74A6' }],
      level: 16030,
      size: 1,
      direction: 'SELL',
    });
  });
});

describe('fixtures/ig through the mapper', () => {
  const dir = join(process.cwd(), 'fixtures', 'ig');
  const load = (file: string): unknown => JSON.parse(readFileSync(join(dir, file), 'utf8'));

  it.runIf(existsSync(join(dir, 'ls_trade_opu_deleted_stop.json')))(
    'a stop fill OPU → positionClosed at the OPU level, cause stop',
    () => {
      const update = positionUpdateFromOpu(parseIg(opuSchema, load('ls_trade_opu_deleted_stop.json'), 'OPU'));
      const events = positionUpdateToEvents(update, {
        previous: { direction: 'BUY', size: 1, stopLevel: 17901, limitLevel: 18041 },
      });
      expect(events).toEqual([
        {
          type: 'positionClosed',
          time: Date.UTC(2024, 2, 5, 11, 41, 7, 552),
          dealId: 'DIAAAAN2K4XQ7AB',
          size: 1,
          level: 17899.4,
          cause: 'stop',
        },
      ]);
    },
  );

  it.runIf(existsSync(join(dir, 'http_get_markets_epic.json')))('GET /markets → rules with a default currency', () => {
    const rules = marketRulesFromIg(parseIg(marketSchema, load('http_get_markets_epic.json'), 'GET /markets'));
    expect(rules.market).toBe('IX.D.DAX.DAILY.IP');
    expect(rules.currency).toBe('EUR');
    expect(Number.isInteger(rules.decimals)).toBe(true);
  });
});
