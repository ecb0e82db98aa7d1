/**
 * Reading the configuration file (SPEC §7): YAML or JSON, validated in one pass so that a single
 * error lists every problem, each with the file, its line, the key path, the value and what was
 * expected.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';

import type { Config, MarketConfig, EntryConfig } from '../domain/config.js';
import { UserError } from '../domain/errors.js';
import { expectationMap, formatPath, problemsFromIssues, type ConfigProblem } from './issues.js';
import { configSchema, SECRET_ENV_VARS } from './schema.js';

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

export interface ParseConfigOptions {
  /** Relative `stateDir`, `journal`, `entry.file` and `entry.path` are resolved against it; left as written when absent. */
  baseDir?: string | undefined;
  /** Where a key path sits in the source text, for messages. */
  locate?: ((path: readonly PropertyKey[]) => SourcePosition | undefined) | undefined;
}

const FIX_HINT = 'Fix the keys listed above and run again.';

/** Loads, validates and resolves the configuration file at `path`. Every failure is a UserError. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`config file not found: ${path} (pass --config)`);
    if (code === 'EISDIR') throw new UserError(`config path is a directory, not a file: ${path} (pass --config)`);
    throw new UserError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const { raw, locate } =
    extname(path).toLowerCase() === '.json' ? parseJsonText(text, path) : parseYamlText(text, path);
  return parseConfig(raw, path, { baseDir: dirname(resolve(path)), locate });
}

/**
 * Validates already-parsed configuration data. Pure: no file system, no clock. `source` names the
 * file in messages.
 */
export function parseConfig(raw: unknown, source: string, options: ParseConfigOptions = {}): Config {
  const secrets = findSecretKeys(raw);
  const result = configSchema.safeParse(raw, { error: expectationMap, reportInput: true });

  const problems: ConfigProblem[] = secrets.map((path) => ({
    path,
    text:
      'secrets never live in the configuration file; remove this key and set the environment variables ' +
      `${SECRET_ENV_VARS.join(', ')} (or keep them in the settings store)`,
  }));
  if (!result.success) {
    // A secret (or the unknown key holding it) is reported once, as a secret.
    const isSecret = (path: readonly PropertyKey[]) => secrets.some((secret) => isPrefix(path, secret));
    problems.push(...problemsFromIssues(result.error.issues, raw).filter((problem) => !isSecret(problem.path)));
  }
  if (problems.length > 0) throw configError(source, problems, options.locate);

  // Secrets are also unknown keys, so a successful parse implies there were none.
  const config = (result as { data: Config }).data;
  return options.baseDir === undefined ? config : resolveConfigPaths(config, options.baseDir);
}

/** Resolves the relative file paths of a configuration against `baseDir` (the config file's directory). */
export function resolveConfigPaths(config: Config, baseDir: string): Config {
  const markets = Object.fromEntries(
    Object.entries(config.markets).map(([market, settings]) => [
      market,
      { ...settings, entry: resolveEntryPaths(settings.entry, baseDir) },
    ]),
  );
  return {
    ...config,
    stateDir: resolvePath(config.stateDir, baseDir, 'stateDir'),
    journal: resolvePath(config.journal, baseDir, 'journal'),
    markets,
  };
}

function resolveEntryPaths(entry: EntryConfig, baseDir: string): EntryConfig {
  switch (entry.kind) {
    case 'signals':
      return { ...entry, file: resolvePath(entry.file, baseDir, 'entry.file') };
    case 'module':
      return { ...entry, path: resolvePath(entry.path, baseDir, 'entry.path') };
    default:
      return entry;
  }
}

/**
 * A path as written, relative to the configuration's directory, or a `file://` URL. Anything else
 * beginning `file:` is refused: Node reads `file:state` as the root's `/state`.
 */
function resolvePath(path: string, baseDir: string, key: string): string {
  if (path.startsWith('file:')) {
    try {
      if (!path.startsWith('file://')) throw new Error('a file URL begins file://');
      return fileURLToPath(path);
    } catch (error) {
      throw new UserError(
        `${key}: ${path} is not a usable file URL (${(error as Error).message})`,
        'write a path (relative to the configuration file) or a file:///absolute/path URL',
      );
    }
  }
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Normalised key names that look like credentials: they belong in the environment, not the file. */
const SECRET_KEYS = new Set(['apikey', 'password', 'identifier', 'username', 'accountid', 'secret', 'token']);

/**
 * Paths of credential-like keys anywhere in the file (SPEC §7: secrets never live in it). The whole
 * file is searched, not only `broker`, so that a misplaced key is refused rather than reported as
 * an ordinary "unknown key". A module entry's `options` belong to the module and are not searched.
 */
function findSecretKeys(raw: unknown, path: PropertyKey[] = []): PropertyKey[][] {
  if (raw === null || typeof raw !== 'object' || isModuleOptions(path)) return [];
  const found: PropertyKey[][] = [];
  const entries: [PropertyKey, unknown][] = Array.isArray(raw)
    ? raw.map((value, index) => [index, value])
    : Object.entries(raw);
  for (const [key, value] of entries) {
    if (typeof key === 'string' && SECRET_KEYS.has(key.toLowerCase().replace(/[-_\s]/g, '')))
      found.push([...path, key]);
    else found.push(...findSecretKeys(value, [...path, key]));
  }
  return found;
}

function isModuleOptions(path: readonly PropertyKey[]): boolean {
  return path.length === 4 && path[0] === 'markets' && path[2] === 'entry' && path[3] === 'options';
}

function isPrefix(prefix: readonly PropertyKey[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((key, index) => key === path[index]);
}

// ---------------------------------------------------------------------------------------------
// Messages

function configError(
  source: string,
  problems: readonly ConfigProblem[],
  locate: ParseConfigOptions['locate'],
): UserError {
  const lines = problems.map((problem) => {
    const position = locate?.(problem.path);
    const where = position ? `${source}:${position.line}:${position.col}` : source;
    return `  - ${where}: ${formatPath(problem.path)}: ${problem.text}`;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new UserError(`invalid configuration in ${source} (${count}):\n${lines.join('\n')}`, FIX_HINT);
}

interface ParsedText {
  raw: unknown;
  locate: (path: readonly PropertyKey[]) => SourcePosition | undefined;
}

function parseYamlText(text: string, file: string): ParsedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((error) => {
      const position = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      const message = error.message.split('\n')[0] ?? error.message;
      return `  - ${file}:${position.line}:${position.col}: ${message}${caret(text, position)}`;
    });
    throw new UserError(
      `cannot parse YAML in ${file}:\n${lines.join('\n')}`,
      'Fix the syntax at the line shown and run again.',
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // An alias without its anchor, or too many: the yaml library says so only here.
    const message = (error as Error).message;
    const alias = /: (\S+)$/.exec(message)?.[1];
    const offset = alias === undefined ? -1 : text.search(new RegExp(`\\*${escapeRegExp(alias)}(?![\\w-])`));
    const position = offset < 0 ? undefined : lineCounter.linePos(offset);
    const where = position ? `${file}:${position.line}:${position.col}` : file;
    throw new UserError(
      `cannot read YAML in ${file}:\n  - ${where}: ${message}${position ? caret(text, position) : ''}`,
      'Fix the alias and run again.',
    );
  }
  checkAcyclic(raw, file);
  return { raw, locate: yamlLocator(doc, lineCounter) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An alias inside its own anchor makes the data contain itself: refused before anything walks it. */
function checkAcyclic(raw: unknown, file: string, ancestors: object[] = [], path: PropertyKey[] = []): void {
  if (raw === null || typeof raw !== 'object') return;
  if (ancestors.includes(raw))
    throw new UserError(
      `cannot read YAML in ${file}: ${formatPath(path)} contains itself (an alias inside its own anchor)`,
      'Fix the alias and run again.',
    );
  ancestors.push(raw);
  for (const [key, value] of Object.entries(raw)) checkAcyclic(value, file, ancestors, [...path, key]);
  ancestors.pop();
}

function parseJsonText(text: string, file: string): ParsedText {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const position = jsonErrorPosition(error.message, text);
    const where = position ? `${file}:${position.line}:${position.col}` : file;
    throw new UserError(
      `cannot parse JSON in ${file}:\n  - ${where}: ${error.message}${position ? caret(text, position) : ''}`,
      'Fix the syntax at the line shown and run again.',
    );
  }
  // JSON is YAML's flow style, so the YAML parser can say where each key sits for messages, and
  // find a key written twice, which JSON.parse takes silently (the last one wins).
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const duplicates = doc.errors.filter((error) => error.code === 'DUPLICATE_KEY');
  if (duplicates.length > 0) {
    const lines = duplicates.map((error) => {
      const position = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      return `  - ${file}:${position.line}:${position.col}: a key written twice (JSON keeps only the last)${caret(text, position)}`;
    });
    throw new UserError(
      `cannot parse JSON in ${file}:\n${lines.join('\n')}`,
      'Fix the syntax at the line shown and run again.',
    );
  }
  const locate = doc.errors.length === 0 ? yamlLocator(doc, lineCounter) : () => undefined;
  return { raw, locate };
}

/** V8 words JSON errors differently across versions: "at position N" or "(line L column C)". */
function jsonErrorPosition(message: string, text: string): SourcePosition | undefined {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return { line: Number(lineCol[1]), col: Number(lineCol[2]) };
  const offset = /position (\d+)/.exec(message);
  if (offset) {
    const before = text.slice(0, Number(offset[1]));
    const lastNewline = before.lastIndexOf('\n');
    return { line: before.split('\n').length, col: before.length - lastNewline };
  }
  if (/Unexpected end of JSON input/.test(message)) {
    const lines = text.split('\n');
    return { line: lines.length, col: (lines.at(-1)?.length ?? 0) + 1 };
  }
  return undefined;
}

function caret(text: string, position: SourcePosition): string {
  const line = text.split(/\r?\n/)[position.line - 1];
  if (line === undefined || line.length > 200) return '';
  return `\n      ${line}\n      ${' '.repeat(Math.max(0, position.col - 1))}^`;
}

/**
 * Where a key path sits in a YAML (or JSON) document: at the value when it is a scalar, at the key
 * when its value is a block, at the nearest written ancestor when the key is missing.
 */
function yamlLocator(doc: Document, lineCounter: LineCounter) {
  return (path: readonly PropertyKey[]): SourcePosition | undefined => {
    let node: unknown = doc.contents;
    let best: YamlNode | undefined = isNode(node) ? node : undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && keyOf(item.key) === String(key));
        if (!pair) break;
        const value = pair.value;
        // A scalar is reported where the value is; a block (or a key without a value) at its key.
        if (isScalar(value)) best = value;
        else if (isNode(pair.key)) best = pair.key;
        node = value;
      } else if (isSeq(node) && typeof key === 'number') {
        const item = node.items[key];
        if (!isNode(item)) break;
        best = item;
        node = item;
      } else break;
    }
    const offset = best?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset);
  };
}

function isNode(value: unknown): value is YamlNode {
  return (
    isMap(value) || isSeq(value) || isScalar(value) || (typeof value === 'object' && value !== null && 'range' in value)
  );
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

/** Narrows the configuration to `--market` markets; an unknown one is an input error. */
export function selectMarkets(config: Config, wanted: readonly string[] | undefined): MarketConfig[] {
  const all = Object.values(config.markets);
  if (wanted === undefined || wanted.length === 0) return all;
  // A market named twice (-m X -m X) is one market: run twice, its closes were reported twice.
  return [...new Set(wanted)].map((name) => {
    const m = config.markets[name];
    if (m === undefined) {
      throw new UserError(
        `--market ${name} is not in the configuration`,
        `configured markets: ${Object.keys(config.markets).join(', ') || 'none'}`,
      );
    }
    return m;
  });
}
