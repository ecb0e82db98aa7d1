/**
 * IgBroker against the fake IG when IG's trading allowance is paced (docs/decisions.md 50): closes
 * do not wait behind stop amends, and an amend that has not left the process is not IG's stop.
 * The limiter's clock is held by the test: waits are measured, not lived.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/core/adapters/ig/limiter.js';
import {
  amendAction,
  closeAction,
  heldTime,
  openThroughBroker,
  startHarness,
  waitFor,
  type Harness,
} from './ig-broker-harness.js';

let current: Harness | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** Four deals a minute, one kept for closes and opens: amends stop at three. */
async function pacedHarness(): Promise<{ h: Harness; time: ReturnType<typeof heldTime> }> {
  const time = heldTime();
  const limiter = new RateLimiter({
    accountTrading: { max: 4, windowMs: 60_000 },
    tradingReserve: 1,
    accountNonTrading: { max: 10_000, windowMs: 60_000 },
    appNonTrading: { max: 10_000, windowMs: 60_000 },
    now: time.now,
    sleep: time.sleep,
  });
  current = await startHarness({ limiter });
  return { h: current, time };
}

function puts(h: Harness, dealId: string): number[] {
  return h.ig
    .requests()
    .filter((r) => r.method === 'PUT' && r.path === `/positions/otc/${dealId}`)
    .map((r) => (r.body as { stopLevel: number }).stopLevel);
}

/** Open (deal 1 of the window) and two amends (2, 3): the amend lane is full. */
async function fillAmendLane(h: Harness): Promise<string> {
  const dealId = await openThroughBroker(h, 'A1');
  h.broker.submit(amendAction('A2', dealId, 17991));
  await h.broker.drain();
  h.broker.submit(amendAction('A3', dealId, 17992));
  await h.broker.drain();
  expect(h.ig.positions()[0]?.stopLevel).toBe(17992);
  return dealId;
}

describe('IgBroker: deals and paced amends', () => {
  it('a graceful stop takes back the amends still waiting for the allowance: drain() does not wait a minute for them', async () => {
    const { h, time } = await pacedHarness();
    const dealId = await fillAmendLane(h);
    h.broker.submit(amendAction('A4', dealId, 17994));
    await waitFor('the amend to wait for its slot', () => time.sleeping() === 1);
    h.broker.withdrawWaitingAmends(0);
    await h.broker.drain(); // would hang until the test's clock moves on if A4 still waited
    expect(
      h.events.filter((e) => e.type === 'actionRejected').map((e) => e.type === 'actionRejected' && e.ref),
    ).toEqual(['A4']);
    expect(puts(h, dealId)).toEqual([17991, 17992]);
  });

  it('a close goes out at once while amends wait for the allowance; the waiting amends are never sent', async () => {
    const { h, time } = await pacedHarness();
    const dealId = await fillAmendLane(h);
    h.broker.submit(amendAction('A4', dealId, 17994));
    h.broker.submit(amendAction('A5', dealId, 17995)); // replaces A4 while it waits
    await waitFor('the amend to wait for its slot', () => time.sleeping() === 1);
    expect(
      h.logs.filter((l) => l.includes('stop amends wait')),
      'one WARN when amends start waiting',
    ).toEqual([expect.stringMatching(/^rest warn stop amends wait 60 s .*3 in the last 60 s, 3 allowed/)]);
    h.broker.submit(closeAction('A6', dealId, 1));
    await waitFor('the close', () => h.events.some((e) => e.type === 'positionClosed'));
    expect(h.ig.positions(), 'the close did not wait for the amends').toHaveLength(0);
    expect(time.now(), 'no time passed on the limiter').toBe(0);
    const rejected = h.events.filter((e) => e.type === 'actionRejected');
    expect(rejected.map((e) => e.type === 'actionRejected' && [e.ref, e.reason.slice(0, 9)])).toEqual([
      ['A5', 'NOT_SENT:'],
      ['A4', 'NOT_SENT:'],
    ]);
    time.advance(60_000);
    await h.broker.drain();
    expect(puts(h, dealId), 'the amends taken back never reach IG').toEqual([17991, 17992]);
  });

  it("a tick reaching a waiting amend's level takes it back before the engine would see the tick", async () => {
    const { h, time } = await pacedHarness();
    const dealId = await fillAmendLane(h);
    h.broker.submit(amendAction('A4', dealId, 17995));
    h.broker.submit(amendAction('A5', dealId, 17996));
    await waitFor('the amend to wait for its slot', () => time.sleeping() === 1);
    const before = h.events.length;
    h.tick(17995.5, 17996.5, h.t0 + 1000); // reaches 17996, not IG's 17992
    // synchronously, inside onTick: the engine hears it before the tick
    expect(h.events.slice(before).map((e) => e.type === 'actionRejected' && e.ref)).toEqual(['A5', 'A4']);
    expect(h.events[before]).toMatchObject({
      reason: expect.stringMatching(/^NOT_SENT: the price \(17995.5\) reached 17996 .*IG's stop is 17992$/),
    });
    time.advance(60_000);
    await h.broker.drain();
    expect(puts(h, dealId), 'a level the price has passed is never sent').toEqual([17991, 17992]);
    expect(h.ig.positions()[0]?.stopLevel).toBe(17992);
  });

  it('a deal IG refuses for its allowance is a known rejection, and deals wait for the allowance window', async () => {
    const { h, time } = await pacedHarness();
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.failNext(
      { method: 'DELETE', path: '/positions/otc' },
      { status: 403, body: { errorCode: 'error.public-api.exceeded-account-trading-allowance' } },
    );
    h.broker.submit(closeAction('A2', dealId, 1));
    await h.broker.drain();
    expect(h.events.filter((e) => e.type === 'actionRejected')).toMatchObject([
      {
        ref: 'A2',
        reason: expect.stringMatching(
          /^error\.public-api\.exceeded-account-trading-allowance: IG refused it, nothing was executed: .*trailguard sends no deal for \d+ s/,
        ),
      },
    ]);
    expect(h.logs.filter((l) => /outcome unknown|OUTCOME_UNKNOWN|reconciled/.test(l))).toEqual([]);
    h.broker.submit(closeAction('A3', dealId, 1));
    await waitFor('the close to wait for the allowance', () => time.sleeping() === 1);
    expect(h.logs).toContainEqual(
      expect.stringMatching(/^rest warn deals \(opens, closes\) wait [\d.]+ s: IG said its allowance is used up$/),
    );
    expect(h.ig.requestCount('DELETE'), 'nothing is sent into a used-up allowance').toBe(1);
    time.advance(60_000);
    await waitFor('the close', () => h.events.some((e) => e.type === 'positionClosed'));
    expect(h.ig.positions()).toHaveLength(0);
  });

  it('a deal whose re-login IG refuses is a known rejection that says what to do', async () => {
    const { h } = await pacedHarness();
    const dealId = await openThroughBroker(h, 'A1');
    h.ig.expireTokens();
    h.ig.failNext(
      { method: 'POST', path: '/session' },
      { status: 401, body: { errorCode: 'error.security.invalid-details' } },
    );
    h.broker.submit(amendAction('A2', dealId, 17991));
    await h.broker.drain();
    expect(h.events.filter((e) => e.type === 'actionRejected')).toMatchObject([
      {
        ref: 'A2',
        reason: expect.stringMatching(
          /^ig\.login-refused: IG refused the login, nothing was executed: .*Check IG_IDENTIFIER/,
        ),
      },
    ]);
    expect(h.logs.filter((l) => /outcome unknown|OUTCOME_UNKNOWN/.test(l))).toEqual([]);
  });
});
