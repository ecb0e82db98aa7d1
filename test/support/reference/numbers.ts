// Arithmetic of the reference implementation (SPEC §9 "Arithmetic"): decisions and rounding as on
// exact decimal values, with binary floats compared within 1e-9 points.

/** SPEC §9: compare with a tolerance of 1e-9 points. */
export const TOLERANCE_POINTS = 1e-9;

/** Tolerance used for account-currency amounts (the strategy guard, SPEC §4.6). */
export const TOLERANCE_AMOUNT = 1e-9;

/** Comparisons on price values within `tol` (price terms), as on exact decimals (SPEC §9). */
export const geq = (a: number, b: number, tol: number): boolean => a >= b - tol;
export const leq = (a: number, b: number, tol: number): boolean => a <= b + tol;
export const gt = (a: number, b: number, tol: number): boolean => a > b + tol;
export const lt = (a: number, b: number, tol: number): boolean => a < b - tol;
export const eq = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol;

/** Number of decimals in the shortest decimal writing of x (0.01 → 2, 1e-7 → 7, 5 → 0). */
export function decimalsOf(x: number): number {
  const s = String(Math.abs(x));
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  if (m === null) throw new Error(`not a finite number: ${x}`);
  const fraction = m[2]?.length ?? 0;
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  return Math.max(0, fraction - exponent);
}

/**
 * Rounds x to `decimals` decimals, half away from zero, with a guard of `guard` (in the same units
 * as x) so that a float just below an exact half (e.g. 24.4999999999 for 24.5) rounds as the
 * exact decimal would (SPEC §3.1, §9).
 */
export function roundHalfAway(x: number, decimals: number, guard: number): number {
  const factor = 10 ** decimals;
  const scaled = Math.abs(x) * factor;
  const n = Math.floor(scaled + 0.5 + guard * factor);
  const magnitude = Number(`${n}e-${decimals}`);
  return x < 0 ? -magnitude : magnitude;
}

/** Floor of x with the same guard (a float just below an integer counts as that integer). */
export function floorGuarded(x: number): number {
  return Math.floor(x + 1e-9);
}

/** Decimal digits and point position of |x|, cleaned to 15 significant digits (float noise removed). */
function cleanDigits(x: number): { digits: string; pointPos: number } {
  const s = Math.abs(x).toPrecision(15);
  const [mantissa = '', exponentText] = s.split('e');
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const pointPos = (dot === -1 ? mantissa.length : dot) + exponent;
  return { digits, pointPos };
}

/**
 * SPEC §6.2 / §9 Journal: numbers rounded to 8 decimals (half away from zero), written without
 * exponent and without trailing zeros; `-0` is written `0`; undefined is the empty field.
 */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '';
  if (!Number.isFinite(x)) throw new Error(`cannot write ${x} in the journal`);
  const { digits, pointPos } = cleanDigits(x);
  // value = digits × 10^(pointPos − digits.length); we want round(value × 1e8).
  const shift = pointPos - digits.length + 8;
  let n: bigint;
  if (shift >= 0) {
    n = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    const whole = BigInt(digits);
    n = whole / divisor;
    if ((whole % divisor) * 2n >= divisor) n += 1n;
  }
  if (n === 0n) return '0';
  const text = n.toString().padStart(9, '0');
  const integerPart = text.slice(0, -8);
  const fractionPart = text.slice(-8).replace(/0+$/, '');
  const body = fractionPart === '' ? integerPart : `${integerPart}.${fractionPart}`;
  return x < 0 ? `-${body}` : body;
}
