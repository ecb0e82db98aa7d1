/**
 * IG credentials: from the environment first, else from the user's settings store (`conf`,
 * SPEC §7: secrets never live in the configuration file). Plus `redact()`, which every message
 * that might contain a secret goes through before it is thrown or logged.
 */
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Conf from 'conf';
import envPaths from 'env-paths';
import { UserError } from '../../domain/errors.js';

export interface IgCredentials {
  apiKey: string;
  identifier: string;
  password: string;
  /** The account to trade; when absent, the session's current (default) account is used. */
  accountId?: string | undefined;
}

/** Environment variable → settings-store key. */
export const CREDENTIAL_SOURCES = [
  { variable: 'IG_API_KEY', key: 'ig.apiKey', field: 'apiKey', required: true },
  { variable: 'IG_IDENTIFIER', key: 'ig.identifier', field: 'identifier', required: true },
  { variable: 'IG_PASSWORD', key: 'ig.password', field: 'password', required: true },
  { variable: 'IG_ACCOUNT_ID', key: 'ig.accountId', field: 'accountId', required: false },
] as const;

/** Read side of the settings store; `SettingsStore` and plain test objects satisfy it. */
export interface CredentialStore {
  get(key: string): unknown;
}

export interface SettingsStoreOptions {
  /** Directory of the store; defaults to the user's config directory (env-paths). Tests pass a temp dir. */
  cwd?: string | undefined;
}

/** The user's trailguard settings (`~/.config/trailguard-nodejs/config.json` on Linux), mode 0600. */
export class SettingsStore implements CredentialStore {
  readonly #conf: Conf<Record<string, unknown>>;
  readonly path: string;

  constructor(options: SettingsStoreOptions = {}) {
    // conf's own directory (env-paths, suffix nodejs), named here so that errors can say where.
    const cwd = options.cwd ?? envPaths('trailguard', { suffix: 'nodejs' }).config;
    this.path = join(cwd, 'config.json');
    this.#conf = this.#reading(
      () =>
        new Conf<Record<string, unknown>>({
          projectName: 'trailguard',
          cwd,
          // conf >= 10 creates the file with this mode (minus the umask); chmod after each write as
          // well, because a file created by an older version or by hand keeps its old mode.
          configFileMode: 0o600,
          // JSON.parse's own error quotes the text around a mistake: in this file, a password.
          deserialize: (text) => {
            try {
              return JSON.parse(text) as Record<string, unknown>;
            } catch {
              throw new UnreadableSettings();
            }
          },
        }),
    );
  }

  get(key: string): unknown {
    return this.#reading(() => this.#conf.get(key));
  }

  /** Runs a read of the file: a damaged file is the user's to fix (exit 2), named, never quoted. */
  #reading<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof UnreadableSettings)) throw error;
      throw new UserError(
        `trailguard's settings file ${this.path} is not valid JSON`,
        'fix it, or remove it and save the credentials again (`trailguard credentials save`); the IG_* environment variables are read first',
      );
    }
  }

  set(key: string, value: string): void {
    this.#conf.set(key, value);
    this.#tighten();
  }

  delete(key: string): void {
    this.#conf.delete(key);
    this.#tighten();
  }

  /** The file 0600 and its directory 0700, whatever the umask made them: only the owner may swap them. */
  #tighten(): void {
    if (existsSync(this.#conf.path)) chmodSync(this.#conf.path, 0o600);
    chmodSync(dirname(this.#conf.path), 0o700);
  }
}

export interface LoadCredentialsOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Consulted for variables the environment does not set. `null` skips the store. */
  store?: CredentialStore | null;
}

/**
 * A value that is not blank: trimmed (a key or name pasted with a newline), except a password,
 * which may begin or end with a space and is taken as it is.
 */
function nonEmpty(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return field === 'password' ? value : value.trim();
}

class UnreadableSettings extends Error {}

/** Environment first, then the settings store. Missing required values → UserError naming them. */
export function loadCredentials(options: LoadCredentialsOptions = {}): IgCredentials {
  const env = options.env ?? process.env;
  // the settings store is opened only when the environment lacks something (opening creates its directory)
  let opened: CredentialStore | null | undefined = options.store;
  const store = (): CredentialStore | null => (opened === undefined ? (opened = new SettingsStore()) : opened);
  const found: Partial<Record<(typeof CREDENTIAL_SOURCES)[number]['field'], string>> = {};
  const missing: string[] = [];
  for (const source of CREDENTIAL_SOURCES) {
    const value = nonEmpty(env[source.variable], source.field) ?? nonEmpty(store()?.get(source.key), source.field);
    if (value !== undefined) found[source.field] = value;
    else if (source.required) missing.push(source.variable);
  }
  if (
    missing.length > 0 ||
    found.apiKey === undefined ||
    found.identifier === undefined ||
    found.password === undefined
  ) {
    throw new UserError(
      `IG credentials missing: ${missing.join(', ')}`,
      `Set ${missing.join(', ')} in the environment (IG_ACCOUNT_ID too, to pick the account), or save them in trailguard's settings store. They never go in the configuration file.`,
    );
  }
  return {
    apiKey: found.apiKey,
    identifier: found.identifier,
    password: found.password,
    ...(found.accountId !== undefined ? { accountId: found.accountId } : {}),
  };
}

export function saveCredentials(store: SettingsStore, credentials: IgCredentials): void {
  for (const source of CREDENTIAL_SOURCES) {
    const value = credentials[source.field];
    if (value !== undefined) store.set(source.key, value);
  }
}

/**
 * Shorter strings are not replaced: a 1–2 character "secret" would mangle every message while
 * protecting nothing (no real API key, password or token is that short).
 */
const MIN_SECRET_LENGTH = 3;

/** Replaces every occurrence of every known secret in `text` with `***`. Longest secrets first. */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  const list = [
    ...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)),
  ];
  list.sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) out = out.split(secret).join('***');
  return out;
}

/** The secret values of a credential set (the identifier counts: it is a login name). */
export function secretsOf(credentials: IgCredentials): string[] {
  return [credentials.apiKey, credentials.password, credentials.identifier];
}
