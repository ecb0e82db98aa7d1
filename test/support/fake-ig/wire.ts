/**
 * IG wire shapes and formats used by the fake IG server.
 *
 * Sources (field names, value formats, which fields are null):
 * - IG REST reference, https://labs.ig.com/rest-trading-api-reference (and its mirror
 *   https://labs.ig.com/reference/*.html): /session v2, /positions v2, /positions/otc v1/v2,
 *   /confirms v1, /markets/{epic} v3, /history/activity v3, /history/transactions v2, error codes.
 * - IG's own .NET sample, github.com/IG-Group/ig-webapi-dotnet-sample
 *   (IGWebApiClient/Model/dto/endpoint/confirms/*.cs): confirm fields, Reason and status enums.
 * - IG REST example "1.A Logging in via POST /session v2", https://labs.ig.com/rest-api-guide-example-requests.
 * - Payloads captured from IG by third-party projects (quoted in comments of open-source IG
 *   clients on GitHub): CONFIRMS/OPU stream messages for open, amend, REST close, stop fill
 *   (channel "OSAutoStopFill"), web-platform close (channel "WTP"), rejected confirm with reason
 *   ATTACHED_ORDER_LEVEL_ERROR; a raw TLCP line `U,3,1,|{...OPU json...}|`; /history/activity v3
 *   and /history/transactions v2 bodies.
 * What is not backed by any of these is marked GUESS where it is decided.
 */

export type Direction = 'BUY' | 'SELL';

/** "2022-05-20T10:40:17.609": confirms `date` and OPU `timestamp` (UTC, no zone, milliseconds). */
export function isoUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

/** "2020-11-19T18:41:04": positions `createdDateUTC`, activity `date`, transactions `dateUtc`. */
export function isoUtcSec(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** "2020/06/01 12:00:00:000": positions `createdDate` (account-local; the fake's accounts are on UTC). */
export function igLocalDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '/')} ${iso.slice(11, 19)}:${iso.slice(20, 23)}`;
}

/** "HH:mm:ss" for `updateTime` fields. */
export function timeOfDay(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function opposite(direction: Direction): Direction {
  return direction === 'BUY' ? 'SELL' : 'BUY';
}

/** Half away from zero with a guard against binary noise (SPEC §9). */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const scaled = Math.abs(value) * factor;
  const rounded = Math.floor(scaled + 0.5 + 1e-9);
  return (Math.sign(value) * rounded) / factor;
}

/** Currency symbols as IG prints them in /history/transactions `profitAndLoss` ("E-8.79", "£19.95"). */
export function currencySymbol(code: string): string {
  switch (code) {
    case 'EUR':
      return 'E';
    case 'GBP':
      return '£';
    case 'USD':
      return '$';
    case 'AUD':
      return 'A$';
    default:
      return code;
  }
}

/** The last 8 characters of a deal id: IG's short "reference" used in descriptions and transactions. */
export function shortRef(dealId: string): string {
  return dealId.slice(-8);
}

export type AffectedDealStatus = 'OPENED' | 'AMENDED' | 'PARTIALLY_CLOSED' | 'FULLY_CLOSED' | 'DELETED';
export type ConfirmStatus = 'OPEN' | 'AMENDED' | 'PARTIALLY_CLOSED' | 'CLOSED' | 'DELETED';

/**
 * GET /confirms/{dealReference} body and the CONFIRMS stream field (same keys; the stream adds
 * `channel`). Key order follows the captured stream payloads.
 */
export interface IgConfirm {
  direction: Direction | null;
  epic: string;
  stopLevel: number | null;
  limitLevel: number | null;
  dealReference: string;
  dealId: string;
  limitDistance: number | null;
  stopDistance: number | null;
  expiry: string | null;
  affectedDeals: { dealId: string; status: AffectedDealStatus }[];
  dealStatus: 'ACCEPTED' | 'REJECTED';
  guaranteedStop: boolean;
  trailingStop: boolean;
  level: number | null;
  reason: string;
  status: ConfirmStatus | null;
  size: number | null;
  profit: number | null;
  profitCurrency: string | null;
  date: string;
}

/** OPU stream field: open position update. Key order follows the captured stream payloads. */
export interface IgOpu {
  dealReference: string;
  dealId: string;
  direction: Direction;
  epic: string;
  status: 'OPEN' | 'UPDATED' | 'DELETED';
  dealStatus: 'ACCEPTED';
  level: number;
  size: number;
  timestamp: string;
  channel: string;
  dealIdOrigin: string;
  expiry: string;
  stopLevel: number | null;
  limitLevel: number | null;
  guaranteedStop: boolean;
}

/** Channels seen in captured OPU/CONFIRMS payloads. */
export const CHANNEL = {
  /** Deals made through the REST API. */
  rest: 'PublicRestOTC',
  /** Broker-side fills by IG's order server: a stop (and, GUESS, a limit) being hit. */
  orderServer: 'OSAutoStopFill',
  /** Deals made on IG's web trading platform. */
  web: 'WTP',
} as const;

/** /history/activity v3 `channel` values (labs reference). */
export const ACTIVITY_CHANNEL = { api: 'PUBLIC_WEB_API', system: 'SYSTEM', web: 'WEB' } as const;

export interface IgActivity {
  date: string;
  epic: string;
  period: string;
  dealId: string;
  channel: string;
  type: 'POSITION' | 'EDIT_STOP_AND_LIMIT' | 'WORKING_ORDER' | 'SYSTEM';
  status: 'ACCEPTED' | 'REJECTED' | 'UNKNOWN';
  description: string;
  details: {
    dealReference: string;
    actions: { actionType: string; affectedDealId: string }[];
    marketName: string;
    goodTillDate: null;
    currency: string;
    size: number;
    direction: Direction;
    level: number;
    stopLevel: number | null;
    stopDistance: null;
    guaranteedStop: boolean;
    trailingStopDistance: null;
    trailingStep: null;
    limitLevel: number | null;
    limitDistance: null;
  } | null;
}

export interface IgTransaction {
  date: string;
  dateUtc: string;
  openDateUtc: string;
  instrumentName: string;
  period: string;
  profitAndLoss: string;
  transactionType: string;
  reference: string;
  openLevel: string;
  closeLevel: string;
  size: string;
  currency: string;
  cashTransaction: boolean;
}

/** Numbers in /history/transactions are strings; levels keep the market's decimals. */
export function levelString(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** "+2.07" / "-1.12": the closed size, signed with the position's direction (captured bodies). */
export function signedSize(direction: Direction, size: number): string {
  return `${direction === 'BUY' ? '+' : '-'}${size.toFixed(2)}`;
}

/** "E-8.79" / "£19.95": currency symbol, then the amount with a minus only when negative. */
export function moneyString(currency: string, amount: number): string {
  return `${currencySymbol(currency)}${amount.toFixed(2)}`;
}
