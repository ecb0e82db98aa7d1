/**
 * The ONE table that turns IG failures into trailguard's error taxonomy (STYLE habit 3).
 *
 * IG answers a failed REST call with an HTTP status and a body `{"errorCode": "..."}`. The codes
 * below come from the "Exceptions" tables of IG's REST reference, e.g.
 * https://labs.ig.com/rest-trading-api-reference/service-detail?id=675 (shared by every endpoint:
 * api-key-missing, kyc.required, account-token-invalid...), the /session page (invalid-details,
 * api-key-invalid, api-key-disabled, exceeded-*-allowance, authentication.timeout), and the
 * trading-ig FAQ (https://github.com/ig-python/trading-ig docs/source/faq.rst: the four
 * `error.public-api.exceeded-*-allowance` codes). Codes marked "seen in the wild" come from public
 * client code, not from IG's own pages.
 *
 * Nothing here may carry a secret: messages are built from the method, the path (deal ids and
 * epics are not secret), the status and IG's error code, never from request headers or bodies.
 */
import { BrokerRejected, BrokerUnavailable, UserError } from '../../domain/errors.js';

export type IgErrorKind = 'user' | 'rejected' | 'unavailable' | 'tokenExpired';

export interface IgErrorRule {
  kind: IgErrorKind;
  /** What happened, in words a trader understands. */
  message: string;
  /** For UserError: what to do next. */
  hint?: string;
  /** For allowance errors: how long to back off before the next request. */
  retryAfterMs?: number;
}

const MINUTE = 60_000;
const CREDENTIALS_HINT =
  'Check IG_IDENTIFIER / IG_PASSWORD (or `trailguard` settings). Demo credentials only work with broker.environment: demo, live ones with live.';
const API_KEY_HINT =
  'Check IG_API_KEY: it must be a REST API key from My IG > Settings > API keys, for the same environment (demo/live) as broker.environment.';
const PLATFORM_HINT = 'Log in to the IG web platform once and complete what it asks for, then retry.';

/** Exact IG error codes. Looked up first; then the prefix rules; then the HTTP status. */
export const IG_ERROR_TABLE: Readonly<Record<string, IgErrorRule>> = {
  // --- Bad credentials or account set-up: the user must act (exit 2). ---
  'error.security.invalid-details': {
    kind: 'user',
    message: 'IG refused the identifier or password',
    hint: CREDENTIALS_HINT,
  },
  'error.security.api-key-invalid': { kind: 'user', message: 'IG refused the API key', hint: API_KEY_HINT },
  'error.security.api-key-missing': { kind: 'user', message: 'no IG API key was sent', hint: API_KEY_HINT },
  'error.security.api-key-disabled': { kind: 'user', message: 'the IG API key is disabled', hint: API_KEY_HINT },
  // seen in the wild (401 on /session when IG locked the client)
  'error.security.client-suspended': {
    kind: 'user',
    message: 'IG has suspended this client login',
    hint: 'Contact IG support; retrying will not help.',
  },
  // seen in the wild: the login needs the v3 (OAuth) session flow
  'error.security.account-migrated': {
    kind: 'user',
    message: 'IG says this account has been migrated and cannot use a v2 session',
    hint: 'Log in to the IG web platform and check the account; contact IG API support if it persists.',
  },
  'error.public-api.failure.kyc.required': {
    kind: 'user',
    message: 'IG does not allow this account on the API until KYC is complete',
    hint: PLATFORM_HINT,
  },
  'error.public-api.failure.pending.agreements.required': {
    kind: 'user',
    message: 'IG requires agreements to be accepted before API use',
    hint: PLATFORM_HINT,
  },
  'error.public-api.failure.missing.credentials': {
    kind: 'user',
    message: 'IG says not all security credentials were sent',
    hint: CREDENTIALS_HINT,
  },
  'error.public-api.failure.preferred.account.disabled': {
    kind: 'user',
    message: "IG says the user's preferred account is disabled",
    hint: 'Set IG_ACCOUNT_ID to an enabled CFD or spread bet account, or change the default account in My IG.',
  },
  'error.public-api.failure.preferred.account.not.set': {
    kind: 'user',
    message: 'IG says no preferred account is set',
    hint: 'Set a default account in My IG > Settings, or set IG_ACCOUNT_ID.',
  },
  'error.public-api.failure.stockbroking-not-supported': {
    kind: 'user',
    message: 'the default IG account is a share dealing/ISA account, which the API cannot trade',
    hint: 'Make a CFD or spread bet account the default in My IG > Settings > Default view.',
  },
  // PUT /session (IG_ACCOUNT_ID): an account id the login cannot switch to is the user's to fix.
  'error.switch.invalid-accountId': {
    kind: 'user',
    message: 'IG does not know IG_ACCOUNT_ID as an account of this login',
    hint: "Set IG_ACCOUNT_ID to one of the login's accounts (My IG > Settings), or unset it to use the default account.",
  },
  'error.switch.accountId-must-be-different': {
    kind: 'user',
    message: 'IG says IG_ACCOUNT_ID is already the current account',
    hint: 'Nothing to switch: unset IG_ACCOUNT_ID, or report this if it persists.',
  },
  'error.public-api.failure.encryption.required': {
    kind: 'user',
    message: 'IG requires an encrypted password for this account (v1 login)',
    hint: 'Report this: trailguard logs in with v2, which should not need encryption.',
  },

  // --- Session tokens expired or were invalidated (weekend maintenance, 12 h idle): log in again. ---
  'error.security.client-token-invalid': {
    kind: 'tokenExpired',
    message: 'the IG session token (CST) is no longer valid',
  },
  'error.security.account-token-invalid': {
    kind: 'tokenExpired',
    message: 'the IG account token (X-SECURITY-TOKEN) is no longer valid',
  },
  'error.security.oauth-token-invalid': { kind: 'tokenExpired', message: 'the IG OAuth token is no longer valid' },
  // guessed siblings of the two above (a request sent before the first login)
  'error.security.client-token-missing': { kind: 'tokenExpired', message: 'no IG session token was sent' },
  'error.security.account-token-missing': { kind: 'tokenExpired', message: 'no IG account token was sent' },

  // --- Transient: retry reads later, reconcile deals. ---
  // IG allowances are per minute (https://labs.ig.com/faq; GET /operations/application reports
  // allowanceAccountOverall / allowanceAccountTrading / allowanceApplicationOverall per minute).
  'error.public-api.exceeded-api-key-allowance': {
    kind: 'unavailable',
    message: 'the IG API key allowance (requests per minute) is used up',
    retryAfterMs: MINUTE,
  },
  'error.public-api.exceeded-account-allowance': {
    kind: 'unavailable',
    message: 'the IG account allowance (requests per minute) is used up',
    retryAfterMs: MINUTE,
  },
  'error.public-api.exceeded-account-trading-allowance': {
    kind: 'unavailable',
    message: 'the IG account trading allowance (deals per minute) is used up',
    retryAfterMs: MINUTE,
  },
  // weekly allowance for price history: not worth waiting for within one run
  'error.public-api.exceeded-account-historical-data-allowance': {
    kind: 'unavailable',
    message: 'the IG historical price data allowance (per week) is used up',
    retryAfterMs: 7 * 24 * 60 * MINUTE,
  },
  'error.security.authentication.timeout': { kind: 'unavailable', message: 'IG timed out while authenticating' },
  'system.error': { kind: 'unavailable', message: 'IG reported an internal error' },

  // --- Permanent refusals of this request. ---
  'invalid.input': { kind: 'rejected', message: 'IG says the request is invalid' },
  'error.request.invalid.date-range': { kind: 'rejected', message: 'IG refused the date range' },
  'error.service.marketdata.position.notional.details.null': {
    kind: 'rejected',
    message: 'IG has no market data for this instrument (wrong epic, or not available to this account)',
  },
  // seen in the wild: GET /confirms/{ref} for a reference IG does not (or no longer) know
  'error.confirms.deal-not-found': { kind: 'rejected', message: 'IG knows no deal with this reference' },
};

/** Families of codes, for codes the table does not list one by one. First match wins. */
const PREFIX_RULES: readonly (readonly [string, IgErrorRule])[] = [
  ['error.public-api.exceeded-', { kind: 'unavailable', message: 'an IG allowance is used up', retryAfterMs: MINUTE }],
  ['validation.', { kind: 'rejected', message: 'IG refused a field of the request' }],
  ['error.service.', { kind: 'rejected', message: 'IG refused the request' }],
  [
    'error.security.',
    { kind: 'user', message: 'IG refused the login or API key', hint: `${CREDENTIALS_HINT} ${API_KEY_HINT}` },
  ],
  [
    'error.public-api.failure.',
    { kind: 'user', message: 'IG does not allow this account on the API', hint: PLATFORM_HINT },
  ],
];

/** Node/axios codes known to mean "no answer" (documentation for the table tests; all network failures are transient). */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED', // axios: timeout exceeded
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Raised for `tokenExpired` rules. Transient (a BrokerUnavailable) if it ever escapes the client. */
export class IgSessionExpired extends BrokerUnavailable {
  readonly sessionExpired = true;
}

export function isSessionExpired(err: unknown): err is IgSessionExpired {
  return err instanceof IgSessionExpired;
}

export function lookupIgErrorCode(errorCode: string): IgErrorRule | undefined {
  const exact = IG_ERROR_TABLE[errorCode];
  if (exact) return exact;
  for (const [prefix, rule] of PREFIX_RULES) if (errorCode.startsWith(prefix)) return rule;
  return undefined;
}

/** A rule for an HTTP status when IG sent no (known) error code. */
function ruleForStatus(status: number): IgErrorRule {
  if (status === 429) return { kind: 'unavailable', message: 'IG says too many requests', retryAfterMs: MINUTE };
  if (status >= 500) return { kind: 'unavailable', message: `IG answered HTTP ${status}` };
  if (status === 408) return { kind: 'unavailable', message: 'IG timed out the request' };
  if (status === 401) return { kind: 'tokenExpired', message: 'IG answered 401 Unauthorized' };
  if (status === 403) return { kind: 'user', message: 'IG answered 403 Forbidden', hint: API_KEY_HINT };
  return { kind: 'rejected', message: `IG answered HTTP ${status}` };
}

export interface IgFailure {
  /** e.g. "GET /positions"; goes into the message. */
  request: string;
  status?: number | undefined;
  errorCode?: string | undefined;
  /** Node/axios error code (ECONNRESET...) when no HTTP answer came back. */
  networkCode?: string | undefined;
  /** The base URL the request went to: said when nothing answered (a mistyped restUrl). */
  baseUrl?: string | undefined;
  /** From a Retry-After header, when IG sends one (undocumented, honoured if present). */
  retryAfterMs?: number | undefined;
}

/**
 * Builds the taxonomy error for one failed request. `errorCode` wins over `status`; an unknown
 * code falls back on the status. Network failures are transient.
 */
export function classifyIgFailure(failure: IgFailure): UserError | BrokerRejected | BrokerUnavailable {
  const { request, status, errorCode, networkCode } = failure;
  if (status === undefined) {
    // No HTTP answer: the request may or may not have reached IG. Even a network code not in
    // TRANSIENT_NETWORK_CODES is treated as transient: a flaky link must never become exit 2.
    const code = networkCode ?? 'network';
    const at = failure.baseUrl === undefined ? '' : ` at ${failure.baseUrl}`;
    return new BrokerUnavailable(`${request}: no answer from IG${at} (${code})`, code);
  }
  const rule = (errorCode !== undefined ? lookupIgErrorCode(errorCode) : undefined) ?? ruleForStatus(status);
  const code = errorCode ?? `http.${status}`;
  const message = `${request}: ${rule.message} (HTTP ${status}${errorCode !== undefined ? `, ${errorCode}` : ''})`;
  switch (rule.kind) {
    case 'user':
      return new UserError(message, rule.hint);
    case 'rejected':
      return new BrokerRejected(message, code);
    case 'unavailable':
      return new BrokerUnavailable(message, code, failure.retryAfterMs ?? rule.retryAfterMs);
    case 'tokenExpired':
      return new IgSessionExpired(message, code);
    default: {
      const _exhaustive: never = rule.kind;
      return _exhaustive;
    }
  }
}

/** Code of BrokerUnavailable when a deal was sent and neither IG's confirms nor positions can tell its fate. */
export const DEAL_OUTCOME_UNKNOWN = 'deal.outcome-unknown';
/** Code of BrokerRejected when IG answered with a payload that does not match the schema. */
export const UNEXPECTED_PAYLOAD = 'ig.unexpected-payload';
