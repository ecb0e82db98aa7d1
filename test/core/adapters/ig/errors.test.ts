import { describe, expect, it } from 'vitest';
import { BrokerRejected, BrokerUnavailable, UserError } from '../../../../src/core/domain/errors.js';
import {
  classifyIgFailure,
  IG_ERROR_TABLE,
  IgSessionExpired,
  isSessionExpired,
  lookupIgErrorCode,
} from '../../../../src/core/adapters/ig/errors.js';

type Kind = 'user' | 'rejected' | 'unavailable' | 'tokenExpired';

function kindOf(err: Error): Kind {
  if (err instanceof IgSessionExpired) return 'tokenExpired';
  if (err instanceof UserError) return 'user';
  if (err instanceof BrokerRejected) return 'rejected';
  if (err instanceof BrokerUnavailable) return 'unavailable';
  throw new Error(`not a taxonomy error: ${String(err)}`);
}

describe('IG error table', () => {
  it.each([
    {
      status: 401,
      errorCode: 'error.security.invalid-details',
      kind: 'user',
      reason: 'wrong identifier/password: the user must fix them',
    },
    {
      status: 403,
      errorCode: 'error.security.api-key-invalid',
      kind: 'user',
      reason: 'wrong API key: the user must fix it',
    },
    { status: 400, errorCode: 'error.security.api-key-missing', kind: 'user', reason: 'no API key configured' },
    {
      status: 400,
      errorCode: 'error.switch.invalid-accountId',
      kind: 'user',
      reason: 'IG_ACCOUNT_ID names no account of this login (PUT /session)',
    },
    {
      status: 403,
      errorCode: 'error.security.api-key-disabled',
      kind: 'user',
      reason: 'a disabled key needs the user',
    },
    {
      status: 401,
      errorCode: 'error.public-api.failure.stockbroking-not-supported',
      kind: 'user',
      reason: 'default account is ISA/shares: change it on the platform',
    },
    {
      status: 401,
      errorCode: 'error.public-api.failure.kyc.required',
      kind: 'user',
      reason: 'account set-up incomplete',
    },
    {
      status: 401,
      errorCode: 'error.security.client-token-invalid',
      kind: 'tokenExpired',
      reason: 'CST expired: log in again and replay',
    },
    {
      status: 401,
      errorCode: 'error.security.account-token-invalid',
      kind: 'tokenExpired',
      reason: 'X-SECURITY-TOKEN invalidated: log in again',
    },
    {
      status: 401,
      errorCode: 'error.security.oauth-token-invalid',
      kind: 'tokenExpired',
      reason: 'OAuth token expired: log in again',
    },
    {
      status: 403,
      errorCode: 'error.public-api.exceeded-api-key-allowance',
      kind: 'unavailable',
      reason: 'per-minute key allowance: wait, then retry',
    },
    {
      status: 403,
      errorCode: 'error.public-api.exceeded-account-allowance',
      kind: 'unavailable',
      reason: 'per-minute account allowance: wait, then retry',
    },
    {
      status: 403,
      errorCode: 'error.public-api.exceeded-account-trading-allowance',
      kind: 'unavailable',
      reason: 'per-minute deal allowance: wait, then retry',
    },
    {
      status: 403,
      errorCode: 'error.public-api.exceeded-some-new-allowance',
      kind: 'unavailable',
      reason: 'any exceeded-* code is an allowance (prefix rule)',
    },
    {
      status: 504,
      errorCode: 'error.security.authentication.timeout',
      kind: 'unavailable',
      reason: 'IG timed out authenticating: transient',
    },
    { status: 500, errorCode: 'system.error', kind: 'unavailable', reason: 'IG internal error: transient' },
    {
      status: 400,
      errorCode: 'error.service.marketdata.position.notional.details.null',
      kind: 'rejected',
      reason: 'no market data for the epic: permanent',
    },
    { status: 400, errorCode: 'invalid.input', kind: 'rejected', reason: 'malformed request: permanent' },
    {
      status: 400,
      errorCode: 'validation.null-not-allowed.request.orderType',
      kind: 'rejected',
      reason: 'validation.* means a field was refused (prefix rule)',
    },
    {
      status: 404,
      errorCode: 'error.service.marketdata.instrument.epic.unavailable',
      kind: 'rejected',
      reason: 'unknown epic: error.service.* prefix',
    },
    {
      status: 401,
      errorCode: 'error.security.some-new-refusal',
      kind: 'user',
      reason: 'an unknown error.security.* code is about credentials',
    },
    { status: 500, errorCode: undefined, kind: 'unavailable', reason: '5xx without a body: transient' },
    {
      status: 503,
      errorCode: 'not.a.known.code',
      kind: 'unavailable',
      reason: 'unknown code falls back on the 5xx status',
    },
    { status: 429, errorCode: undefined, kind: 'unavailable', reason: 'HTTP 429: rate limited' },
    { status: 400, errorCode: undefined, kind: 'rejected', reason: 'a bare 4xx is a permanent refusal' },
    {
      status: 401,
      errorCode: undefined,
      kind: 'tokenExpired',
      reason: 'a bare 401 most likely means the session expired',
    },
  ] as const)('$status $errorCode → $kind ($reason)', ({ status, errorCode, kind }) => {
    const err = classifyIgFailure({ request: 'GET /positions', status, errorCode });
    expect(kindOf(err), `classification of ${String(errorCode)}`).toBe(kind);
    if (errorCode !== undefined && !(err instanceof UserError)) expect((err as BrokerRejected).code).toBe(errorCode);
    expect(err.message).toContain('GET /positions');
  });

  it.each([
    { networkCode: 'ECONNRESET', reason: 'connection reset: the request may or may not have reached IG' },
    { networkCode: 'ETIMEDOUT', reason: 'socket timeout' },
    { networkCode: 'ECONNABORTED', reason: 'axios timeout' },
    { networkCode: 'ECONNREFUSED', reason: 'nothing listening' },
    { networkCode: 'EAI_AGAIN', reason: 'DNS hiccup' },
    { networkCode: 'SOMETHING_NEW', reason: 'an unknown network code is never turned into a user error' },
    { networkCode: undefined, reason: 'no code at all' },
  ])('network failure $networkCode is transient ($reason)', ({ networkCode }) => {
    const err = classifyIgFailure({ request: 'POST /positions/otc', networkCode });
    expect(err).toBeInstanceOf(BrokerUnavailable);
    expect(isSessionExpired(err)).toBe(false);
  });

  it('no answer names where the request went (a mistyped restUrl shows)', () => {
    const err = classifyIgFailure({
      request: 'POST /session',
      networkCode: 'ECONNREFUSED',
      baseUrl: 'http://127.0.0.1:9',
    });
    expect(err.message).toBe('POST /session: no answer from IG at http://127.0.0.1:9 (ECONNREFUSED)');
  });

  it('allowance errors carry a retryAfterMs of one minute, a Retry-After header wins', () => {
    const plain = classifyIgFailure({
      request: 'GET /positions',
      status: 403,
      errorCode: 'error.public-api.exceeded-account-allowance',
    });
    expect(plain).toBeInstanceOf(BrokerUnavailable);
    expect((plain as BrokerUnavailable).retryAfterMs).toBe(60_000);
    const header = classifyIgFailure({
      request: 'GET /positions',
      status: 403,
      errorCode: 'error.public-api.exceeded-account-allowance',
      retryAfterMs: 2000,
    });
    expect((header as BrokerUnavailable).retryAfterMs).toBe(2000);
  });

  it('user errors say what to do next', () => {
    const err = classifyIgFailure({
      request: 'POST /session',
      status: 401,
      errorCode: 'error.security.invalid-details',
    });
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).hint).toMatch(/IG_IDENTIFIER/);
    expect((err as UserError).exitCode).toBe(2);
  });

  it('every user rule in the table has a hint', () => {
    for (const [code, rule] of Object.entries(IG_ERROR_TABLE)) {
      if (rule.kind === 'user') expect(rule.hint, code).toBeTruthy();
    }
  });

  it('exact codes win over prefix rules', () => {
    expect(lookupIgErrorCode('error.security.client-token-invalid')?.kind).toBe('tokenExpired');
    expect(lookupIgErrorCode('error.security.whatever')?.kind).toBe('user');
    expect(lookupIgErrorCode('totally.unknown')).toBeUndefined();
  });
});
