// Builds dist/ with esbuild: each oclif command and each worker thread is an entry point, the code
// they share goes into chunks. One file per command instead of ~100 modules (and zod's, yaml's,
// csv-parse's own) takes ~0.2 s off every run's start-up, and off every sweep worker's (measured:
// a 3-tick backtest 0.50 → 0.32 s). Type checking stays with tsc (`npm run build` runs it first).
//
// oclif is bundled apart, into one CommonJS file (dist/oclif.cjs) that bin/run.js and every command
// load with require() under the package's own import name `#oclif` (package.json "imports"), so
// that there is one copy of it. Loading its ~160 modules one by one from node_modules cost
// ~0.05 s of every run. It is required rather than imported: an ES import of a CommonJS file
// makes Node scan the whole file for its export names first (~0.1 s for this one).
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
// Worker threads, found by name at dist/workers/<name>.js (src/core/adapters/threads/start-worker.ts).
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
    b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: '@oclif/core', namespace: 'shared-oclif' }));
    b.onLoad({ filter: /.*/, namespace: 'shared-oclif' }, () => ({
      contents: "module.exports = require('#oclif');",
      loader: 'js',
    }));
    b.onResolve({ filter: /^#oclif$/ }, () => ({ path: '#oclif', external: true }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: [...commands, ...workers],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [sharedOclif],
  external: ['lightstreamer-client-node', 'axios', 'ws', 'conf', 'tsx', 'tsx/*'],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __tgCreateRequire } from 'node:module'; const require = __tgCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
