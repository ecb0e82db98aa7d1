'use strict';
// V8 code cache for trailguard's own bundles (dist/**/*.cjs): compiling them was ~0.13 s of every
// command's start-up (oclif ~55 ms, a command's bundle ~80 ms, measured on the bench machine);
// from the cache it is ~60 ms for both together.
//
// Written by hand: Node 22 has this built in (module.enableCompileCache) but Node 20 has not, and
// v8-compile-cache stores only what V8 compiles before a file runs, which leaves out every function
// compiled lazily during the run (most of them). Here the cache is taken after the build's warm-up
// runs (scripts/code-cache.mjs), so it holds the functions those runs compiled too.
//
// Caches are written only by the build (TRAILGUARD_CODE_CACHE=write); a run only reads them. A
// cache is found by the SHA-1 of the file's text, so one built from other sources is never used
// (V8's own check compares the length only), and by the process's V8 flags, which V8 requires to
// match. A missing or refused cache means the file compiles as it would without this hook.
//
// Node 20 loses `import()` in a script run from a cache ("A dynamic import callback was not
// specified"): trailguard's bundles import through bin/dynamic-import.cjs instead
// (src/core/services/dynamic-import.ts). oclif's own import() loads only ES-module commands and
// plugins, and trailguard has none (its commands are the .cjs bundles).
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');
const { threadId } = require('node:worker_threads');

const DIST = path.join(__dirname, '..', 'dist') + path.sep;
const CACHE_DIR = path.join(DIST, 'code-cache');
const MARK = Symbol.for('trailguard.codeCache');

/** Counts of this process, for tests: cache used, cache missing or refused. */
const stats = { hits: 0, misses: 0, files: [] };

/** The cache file of a bundle with this text, under this process's V8 flags. */
function cacheFile(filename, content) {
  const source = createHash('sha1').update(content).digest('hex').slice(0, 16);
  const flags = createHash('sha1').update(process.execArgv.join('\0')).digest('hex').slice(0, 8);
  const name = path.relative(DIST, filename).split(path.sep).join('__');
  return path.join(CACHE_DIR, `${name}.${source}.${flags}.bin`);
}

/** Files this process compiled, with their scripts (write mode only). */
const compiled = [];

function install() {
  if (Module.prototype._compile[MARK]) return stats;
  const write = process.env.TRAILGUARD_CODE_CACHE === 'write';
  const original = Module.prototype._compile;

  function compile(content, filename) {
    if (!filename.startsWith(DIST) || !filename.endsWith('.cjs')) return original.call(this, content, filename);
    const file = cacheFile(filename, content);
    let cachedData;
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    const hit = cachedData !== undefined && !script.cachedDataRejected;
    if (hit) stats.hits++;
    else stats.misses++;
    stats.files.push({ file: filename, hit });
    if (write) compiled.push({ script, file });
    // The module's own require, as Node builds it (lib/internal/modules/helpers makeRequireFunction).
    const mod = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the module being compiled
    const require = (id) => mod.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
    // require.main stays undefined: the process's entry (bin/run.js) is an ES module.
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return script
      .runInThisContext({ displayErrors: true })
      .call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
  }
  compile[MARK] = true;
  Module.prototype._compile = compile;
  // At exit, so that the cache holds what this run compiled (a file read from a cache keeps what
  // it had). A worker thread that is terminated has no exit: its starter calls save() itself.
  if (write) process.on('exit', save);
  return stats;
}

/**
 * Writes the caches of the files compiled so far (write mode; otherwise there are none), each
 * under a temporary name and renamed: a reader never sees half a file.
 */
function save() {
  if (compiled.length === 0) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const { script, file } of compiled) {
    const tmp = `${file}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, file);
  }
}

module.exports = { install, save, stats, cacheFile, CACHE_DIR };
