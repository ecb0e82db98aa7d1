/**
 * The error taxonomy (STYLE.md habit 3). Only the base command turns these into exit codes:
 * UserError → 2, BrokerRejected / BrokerUnavailable → 1, anything else is a bug → 1 with a stack.
 */

/** Bad input or configuration. The message says what to do next. */
export class UserError extends Error {
  override readonly name = 'UserError';
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The broker refused a request for good: retrying the same request will not help. */
export class BrokerRejected extends Error {
  override readonly name = 'BrokerRejected';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The broker (or the network to it) failed transiently; a read may be retried, a deal must be reconciled. */
export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * A journal or state file that could not be written while live ran (a full disk, a lost mount):
 * it stops live at once (WriteGuard). `code` is the system's (ENOSPC, EIO…).
 */
export class WriteFailed extends Error {
  override readonly name = 'WriteFailed';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A broken invariant: a bug in trailguard. Crash loudly. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  readonly exitCode = 1;
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
