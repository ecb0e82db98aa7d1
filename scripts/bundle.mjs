// Builds dist/ with esbuild: each oclif command and each worker thread is an entry point, bundled
// whole into one CommonJS file (dist/commands/<name>.cjs, dist/workers/<name>.cjs). One file per
// command instead of ~100 modules (and zod's, yaml's, csv-parse's own) takes ~0.2 s off every
// run's start-up, and off every sweep worker's (measured: a 3-tick backtest 0.50 → 0.32 s). Type
// checking stays with tsc (`npm run build` runs it first).
//
// CommonJS, not ES modules: Node 20 can run a CommonJS file from a V8 code cache (bin/code-cache.cjs,
// filled by scripts/code-cache.mjs, the build's last step) and cannot do so for an ES module.
// Compiling the bundles was ~0.13 s of every run; a command's shared code is therefore no longer
// split into chunks (only one command runs per process, and a chunk cannot be CommonJS).
//
// oclif is bundled apart, into one CommonJS file (dist/oclif.cjs) that bin/run.js and every command
// load with require() under the package's own import name `#oclif` (package.json "imports"), so
// that there is one copy of it. Loading its ~160 modules one by one from node_modules cost
// ~0.05 s of every run.
//
// Left outside the bundle, loaded from node_modules as before: the IG adapter's network stack,
// which only `live`, `sync`, `close` and `positions` load.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
const commands = walk(join(root, 'src/commands')).map((file) => ({
  in: file,
  out: file.slice(join(root, 'src/').length, -'.ts'.length),
}));
// Worker threads, found by name at dist/workers/<name>.cjs (src/core/adapters/threads/start-worker.ts).
const workers = [
  { in: join(root, 'src/core/services/sweep-worker.ts'), out: 'workers/sweep-worker' },
  { in: join(root, 'src/core/adapters/files/tick-thread/worker.ts'), out: 'workers/tick-reader' },
];

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  stdin: { contents: "module.exports = require('@oclif/core');", resolveDir: root, loader: 'js' },
  outfile: 'dist/oclif.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Minified, names kept (oclif's errors and help print class names): parsing is part of start-up.
  minify: true,
  keepNames: true,
  // oclif requires TypeScript only to run a plugin from its sources, which trailguard never does.
  external: ['typescript'],
  logLevel: 'warning',
});

/** `@oclif/core` in the commands: the one copy in dist/oclif.cjs (see the top of this file). */
const sharedOclif = {
  name: 'shared-oclif',
  setup(b) {
    b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: '#oclif', external: true }));
  },
};

/** src/core/services/dynamic-import.ts: bin/dynamic-import.cjs, outside the code cache (see that file). */
const dynamicImport = {
  name: 'dynamic-import',
  setup(b) {
    const file = join(root, 'src/core/services/dynamic-import.js');
    b.onResolve({ filter: /dynamic-import\.js$/ }, (args) =>
      join(args.resolveDir, args.path) === file ? { path: '#dynamic-import', external: true } : undefined,
    );
  },
};

await build({
  absWorkingDir: root,
  entryPoints: [...commands, ...workers],
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  plugins: [sharedOclif, dynamicImport],
  // conf is bundled: it is an ES module only, which Node 20 cannot require().
  external: ['lightstreamer-client-node', 'axios', 'ws', 'tsx', 'tsx/*'],
  // The sources are ES modules; the few that find files next to themselves read import.meta.url.
  define: { 'import.meta.url': '__tgImportMetaUrl' },
  banner: { js: "const __tgImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
