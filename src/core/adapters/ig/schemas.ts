/**
 * zod schemas of the IG payloads trailguard reads. Lenient on fields we do not use (loose objects
 * keep them), strict on the ones we use.
 *
 * Sources: IG REST reference pages at https://labs.ig.com/rest-trading-api-reference
 * (GET /positions v2, GET /positions/{dealId} v2 ?id=681, GET /history/activity v3 ?id=659,
 * /history/transactions v2, GET /confirms/{dealReference} v1, GET /markets/{epic} v3,
 * POST /session v2), the streaming reference https://labs.ig.com/streaming-api-reference
 * (TRADE:{accountId} DISTINCT, fields CONFIRMS / OPU / WOU as JSON strings), and the payload
 * samples in ig-python/trading-ig tests/data (positions_v2.json, markets_epic.json).
 *
 * A payload that fails its schema is a permanent failure of that request, so `parseIg` throws
 * `BrokerRejected` (code `ig.unexpected-payload`) naming the request and the path of the first
 * bad field. Not `InvariantError`: the bug is not in trailguard, and crashing the live loop
 * would leave positions unguarded; not `BrokerUnavailable`: retrying gets the same payload. A deal
 * whose *answer* is malformed is a different matter: rest-client treats it as "outcome unknown"
 * and settles it through /confirms.
 */
import { z } from 'zod';
import { BrokerRejected } from '../../domain/errors.js';
import { UNEXPECTED_PAYLOAD } from './errors.js';

/** IG numbers are JSON numbers in REST, but some stream and history fields carry them as strings. */
export const igNumber = z.union([
  z.number().finite(),
  z
    .string()
    .trim()
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'expected a number')
    .transform(Number),
]);
/** Optional level: IG sends `null` for "none". */
const optionalLevel = igNumber.nullish();

export const direction = z.enum(['BUY', 'SELL']);

// ---------------------------------------------------------------- errors

/** Body of any IG error answer. */
export const errorBodySchema = z.looseObject({ errorCode: z.string().min(1) });

// ---------------------------------------------------------------- POST /session (v2)

export const sessionV2Schema = z.looseObject({
  currentAccountId: z.string().min(1),
  lightstreamerEndpoint: z.string().min(1),
  accountType: z.string().optional(),
  currencyIsoCode: z.string().optional(),
  clientId: z.string().optional(),
  timezoneOffset: z.number().optional(),
  dealingEnabled: z.boolean().optional(),
  trailingStopsEnabled: z.boolean().optional(),
  accounts: z
    .array(
      z.looseObject({
        accountId: z.string(),
        accountName: z.string().optional(),
        accountType: z.string().optional(),
        preferred: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type IgSessionV2 = z.infer<typeof sessionV2Schema>;

/** The v2 session tokens come back as response headers (node lower-cases header names). */
export const sessionHeadersSchema = z.looseObject({
  cst: z.string().min(1),
  'x-security-token': z.string().min(1),
});

// ---------------------------------------------------------------- positions

export const positionSchema = z.looseObject({
  position: z.looseObject({
    dealId: z.string().min(1),
    dealReference: z.string().nullish(),
    direction,
    size: igNumber,
    level: igNumber,
    stopLevel: optionalLevel,
    limitLevel: optionalLevel,
    createdDateUTC: z.string().min(1),
    createdDate: z.string().nullish(),
    currency: z.string().nullish(),
    contractSize: igNumber.nullish(),
    controlledRisk: z.boolean().nullish(),
    trailingStopDistance: optionalLevel,
    trailingStep: optionalLevel,
  }),
  market: z.looseObject({
    epic: z.string().min(1),
    instrumentName: z.string().nullish(),
    expiry: z.string().nullish(),
    bid: optionalLevel,
    offer: optionalLevel,
    marketStatus: z.string().nullish(),
    scalingFactor: igNumber.nullish(),
  }),
});
export type IgPosition = z.infer<typeof positionSchema>;

/** GET /positions (v2). */
export const positionsSchema = z.looseObject({ positions: z.array(positionSchema) });

// ---------------------------------------------------------------- dealing

/** Answer of POST /positions/otc, PUT /positions/otc/{dealId}, DELETE /positions/otc. */
export const dealReferenceSchema = z.looseObject({ dealReference: z.string().min(1) });

export const dealStatus = z.enum(['ACCEPTED', 'REJECTED']);
export const affectedDealStatus = z.enum(['AMENDED', 'DELETED', 'FULLY_CLOSED', 'OPENED', 'PARTIALLY_CLOSED']);
export const positionStatus = z.enum(['AMENDED', 'CLOSED', 'DELETED', 'OPEN', 'PARTIALLY_CLOSED']);

/** GET /confirms/{dealReference} (v1), also the CONFIRMS field of the TRADE stream. */
export const confirmSchema = z.looseObject({
  dealReference: z.string().min(1),
  // IG fills dealId in rejections too, but nothing of ours depends on it there.
  dealId: z.string().nullish(),
  dealStatus,
  status: positionStatus.nullish(),
  reason: z.string().nullish(),
  epic: z.string().nullish(),
  direction: direction.nullish(),
  level: optionalLevel,
  size: optionalLevel,
  stopLevel: optionalLevel,
  limitLevel: optionalLevel,
  stopDistance: optionalLevel,
  limitDistance: optionalLevel,
  profit: optionalLevel,
  profitCurrency: z.string().nullish(),
  date: z.string().min(1),
  expiry: z.string().nullish(),
  guaranteedStop: z.boolean().nullish(),
  trailingStop: z.boolean().nullish(),
  affectedDeals: z.array(z.looseObject({ dealId: z.string(), status: affectedDealStatus.or(z.string()) })).nullish(),
});
export type IgConfirm = z.infer<typeof confirmSchema>;

// ---------------------------------------------------------------- GET /markets/{epic} (v3)

const distanceRule = z.looseObject({ unit: z.enum(['POINTS', 'PERCENTAGE']), value: igNumber });

export const marketSchema = z.looseObject({
  instrument: z.looseObject({
    epic: z.string().min(1),
    name: z.string().nullish(),
    expiry: z.string().nullish(),
    type: z.string().nullish(),
    unit: z.string().nullish(),
    lotSize: igNumber.nullish(),
    // v3 sends these as strings ("1 Index Point", "1.00"), or null for some markets
    onePipMeans: z.string().nullish(),
    valueOfOnePip: z.union([z.string(), z.number()]).nullish(),
    contractSize: z.union([z.string(), z.number()]).nullish(),
    currencies: z.array(z.looseObject({ code: z.string(), isDefault: z.boolean().nullish() })).nullish(),
  }),
  dealingRules: z.looseObject({
    minNormalStopOrLimitDistance: distanceRule,
    minDealSize: z.looseObject({ unit: z.string(), value: igNumber }).nullish(),
    minStepDistance: z.looseObject({ unit: z.string(), value: igNumber }).nullish(),
    maxStopOrLimitDistance: distanceRule.nullish(),
    minControlledRiskStopDistance: distanceRule.nullish(),
  }),
  snapshot: z.looseObject({
    marketStatus: z.string(),
    bid: optionalLevel,
    offer: optionalLevel,
    decimalPlacesFactor: z.number().int().min(0).max(12),
    scalingFactor: igNumber,
    updateTime: z.string().nullish(),
  }),
});
export type IgMarket = z.infer<typeof marketSchema>;

// ---------------------------------------------------------------- GET /history/transactions (v2)

/** v2 sends levels, sizes and P&L as strings: "17000.5", "+1", "£-12.50". */
export const transactionSchema = z.looseObject({
  date: z.string().nullish(),
  dateUtc: z.string().min(1),
  openDateUtc: z.string().nullish(),
  instrumentName: z.string().nullish(),
  period: z.string().nullish(),
  profitAndLoss: z.string().nullish(),
  transactionType: z.string(),
  reference: z.string(),
  openLevel: z.string().nullish(),
  closeLevel: z.string().nullish(),
  size: z.string().nullish(),
  currency: z.string().nullish(),
  cashTransaction: z.boolean().nullish(),
});
export type IgTransaction = z.infer<typeof transactionSchema>;

export const transactionsSchema = z.looseObject({
  transactions: z.array(transactionSchema),
  metadata: z
    .looseObject({
      size: z.number().nullish(),
      pageData: z.looseObject({ pageNumber: z.number(), pageSize: z.number(), totalPages: z.number() }).nullish(),
    })
    .nullish(),
});

// ---------------------------------------------------------------- GET /history/activity (v3)

export const activitySchema = z.looseObject({
  date: z.string().min(1),
  dealId: z.string().nullish(),
  epic: z.string().nullish(),
  period: z.string().nullish(),
  channel: z.string().nullish(),
  type: z.string(), // POSITION, WORKING_ORDER, EDIT_STOP_AND_LIMIT, SYSTEM
  status: z.string(), // ACCEPTED, REJECTED, UNKNOWN
  description: z.string().nullish(),
  details: z
    .looseObject({
      dealReference: z.string().nullish(),
      actions: z.array(z.looseObject({ actionType: z.string(), affectedDealId: z.string().nullish() })).nullish(),
      marketName: z.string().nullish(),
      currency: z.string().nullish(),
      size: optionalLevel,
      direction: direction.nullish(),
      level: optionalLevel,
      stopLevel: optionalLevel,
      limitLevel: optionalLevel,
    })
    .nullish(),
});
export type IgActivity = z.infer<typeof activitySchema>;

export const activitiesSchema = z.looseObject({
  activities: z.array(activitySchema),
  metadata: z
    .looseObject({ paging: z.looseObject({ size: z.number().nullish(), next: z.string().nullish() }).nullish() })
    .nullish(),
});

// ---------------------------------------------------------------- Lightstreamer TRADE:{accountId}

/** OPU: open position update (streaming reference, TRADE subscription). */
export const opuSchema = z.looseObject({
  dealId: z.string().min(1),
  dealReference: z.string().nullish(),
  dealIdOrigin: z.string().nullish(),
  direction,
  epic: z.string().min(1),
  status: z.enum(['OPEN', 'UPDATED', 'DELETED']),
  dealStatus: dealStatus,
  level: igNumber,
  size: igNumber,
  timestamp: z.string().min(1),
  stopLevel: optionalLevel,
  limitLevel: optionalLevel,
  channel: z.string().nullish(),
  expiry: z.string().nullish(),
  currency: z.string().nullish(),
  guaranteedStop: z.boolean().nullish(),
});
export type IgOpu = z.infer<typeof opuSchema>;

/** CONFIRMS of the TRADE stream carries the same object as GET /confirms. */
export const streamConfirmSchema = confirmSchema;

// ---------------------------------------------------------------- parsing

/** Where in the payload the first problem is, e.g. `positions.0.position.level`. */
function describeIssues(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'invalid payload';
  const path = first.path.length > 0 ? first.path.map(String).join('.') : '(root)';
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  return `${path}: ${first.message}${more}`;
}

/** Parses `data` or throws BrokerRejected('unexpected IG payload at <where>: <path>: <problem>'). */
export function parseIg<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new BrokerRejected(`unexpected IG payload at ${where}: ${describeIssues(result.error)}`, UNEXPECTED_PAYLOAD);
}

/** A JSON string from the stream, parsed then validated. Bad JSON is an unexpected payload too. */
export function parseIgJson<S extends z.ZodType>(schema: S, text: string, where: string): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BrokerRejected(`unexpected IG payload at ${where}: not JSON`, UNEXPECTED_PAYLOAD);
  }
  return parseIg(schema, data, where);
}
