import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

import { InvariantError } from '../../domain/errors.js';

/**
 * Starts one of trailguard's worker threads. `callerUrl` is the caller's `import.meta.url`;
 * `sourcePath` the worker module relative to it in the source tree (`./sweep-worker.ts`);
 * `name` its file in the build, which bundles every worker as an entry point of its own
 * (`dist/workers/<name>.cjs`, scripts/bundle.mjs): in the build the caller's code sits in a
 * command's bundle, so a path relative to it would not find the worker.
 */
export function startWorker(callerUrl: string, sourcePath: string, name: string, options: WorkerOptions = {}): Worker {
  if (callerUrl.endsWith('.ts')) {
    // Running from source (tests, tsx): the worker is TypeScript too, compiled by tsx on the fly,
    // through tsx's ESM entry (its CommonJS one cannot register the loader from an eval'd worker).
    const target = new URL(sourcePath, callerUrl).href;
    const require = createRequire(fileURLToPath(callerUrl));
    const pkgPath = require.resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
      exports: Record<string, { import: { default: string } }>;
    };
    const tsx = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default)).href;
    const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(target)}); })`;
    return new Worker(code, { ...options, eval: true });
  }
  // The built worker, after bin/code-cache.cjs (the main thread's require hook is not the worker's).
  const root = packageRoot(fileURLToPath(callerUrl));
  const hook = join(root, 'bin', 'code-cache.cjs');
  const file = join(root, 'dist', 'workers', `${name}.cjs`);
  const code = `const cache = require(${JSON.stringify(hook)}); cache.install(); require(${JSON.stringify(file)}); cache.save();`;
  return new Worker(code, { ...options, eval: true });
}

function packageRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new InvariantError(`no package.json above ${file}: cannot find the worker threads`);
  }
}
