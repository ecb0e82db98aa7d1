/**
 * Turns zod issues into the lines of a configuration error: key path, offending value, expectation.
 * Every message produced by the schema (or by `expectationMap`) is an expectation, "a number > 0";
 * this file adds the path and what was found.
 */
import type { z } from 'zod';

/** Error map passed to every parse of the configuration: it words each check as an expectation. */
export const expectationMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return describeType(issue.expected);
    case 'too_small':
      return describeBound(issue.origin, issue.minimum, issue.inclusive ?? false, 'min');
    case 'too_big':
      return describeBound(issue.origin, issue.maximum, issue.inclusive ?? false, 'max');
    case 'invalid_value':
      return issue.values.length === 1
        ? `exactly ${formatValue(issue.values[0])}`
        : `one of ${issue.values.map((value) => formatValue(value)).join(' | ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'a URL' : `a ${issue.format}`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return 'a known key';
    case 'invalid_union':
      return 'one of the accepted forms';
    case 'invalid_key':
      return 'a valid key';
    case 'invalid_element':
      return 'a valid element';
    case 'custom':
      return 'a valid value';
    default:
      return undefined;
  }
};

function describeType(expected: string): string {
  switch (expected) {
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a mapping of key: value';
    case 'array':
      return 'a list';
    default:
      return expected;
  }
}

function describeBound(origin: string, bound: number | bigint, inclusive: boolean, side: 'min' | 'max'): string {
  const limit = String(bound);
  switch (origin) {
    case 'string':
      return side === 'min'
        ? Number(bound) <= 1
          ? 'a non-empty string'
          : `at least ${limit} characters`
        : `at most ${limit} characters`;
    case 'array':
    case 'set':
      return side === 'min' ? `at least ${limit} item(s)` : `at most ${limit} item(s)`;
    default: {
      const noun = origin === 'int' ? 'a whole number' : 'a number';
      if (side === 'min') return `${noun} ${inclusive ? '≥' : '>'} ${limit}`;
      return `${noun} ${inclusive ? '≤' : '<'} ${limit}`;
    }
  }
}

/** One problem of a configuration file, before the file name and position are added. */
export interface ConfigProblem {
  path: readonly PropertyKey[];
  /** "got -3; expected a number ≥ 0", "unknown key; expected one of…", "missing; expected…" */
  text: string;
}

const MISSING: unique symbol = Symbol('missing');

/** The raw value at `path`, or MISSING when the file has nothing there. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return MISSING;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  // A key written with no value (JSON `undefined` never occurs; JS callers may pass it) is missing.
  return node === undefined ? MISSING : node;
}

export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: [...issue.path, key], text: `unknown key; expected ${issue.message}` });
      }
      continue;
    }
    const found = valueAt(raw, issue.path);
    let got: string;
    if (found !== MISSING) got = `got ${formatValue(found)}`;
    // A cross-key check on a value the file did not write: say it came from the defaults.
    else if (issue.code === 'custom' && isPrimitive(issue.input)) got = `got ${formatValue(issue.input)} (the default)`;
    else got = 'missing';
    problems.push({ path: issue.path, text: `${got}; expected ${issue.message}` });
  }
  return problems;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `markets["IX.D.DAX.DAILY.IP"].exits.trailing.distance`, `exits.ladder.rungs[2].lock`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

const MAX_VALUE_CHARS = 60;

export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length} item(s)`;
  let text: string;
  try {
    text =
      typeof value === 'object'
        ? JSON.stringify(value)
        : typeof value === 'string'
          ? JSON.stringify(value)
          : String(value);
  } catch (error) {
    // Cyclic data (YAML aliases) cannot be printed as JSON; the key path still says where.
    if (error instanceof TypeError) return 'a mapping';
    throw error;
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function isPrimitive(value: unknown): boolean {
  return value !== undefined && value !== null && typeof value !== 'object' && typeof value !== 'function';
}
