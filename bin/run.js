#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=1 --max-old-space-size=512
// Memory flags, each measured on a 10M-tick backtest (issue 4, `npm run bench`); none is slower:
// - 1 MB semi-spaces: the backtest's hot loop allocates almost nothing, and V8's young generation
//   (which grows to 16 MB by default) only adds resident memory;
// - a 512 MB old generation: V8 sizes its first full collections from this limit, and with the
//   default (a quarter of RAM) the garbage promoted over a long backtest was never collected, so
//   memory grew with the file (+14 MB from 1M to 10M ticks; now +7, bounded). trailguard's live
//   data is a few MB: open positions, indicators, the journal's buffer;
// - one glibc malloc arena instead of one per thread: V8's compiler threads and the tick reader's
//   thread each left several MB behind in theirs.
// Together: 106 → 89 MB peak for a 10M-tick backtest with its reader thread.
//
// oclif comes from the build (`#oclif`, dist/oclif.cjs: see scripts/bundle.mjs), the same copy the
// commands use. This entry point runs the build only: with NODE_ENV=development or test set in the
// shell, oclif would otherwise load the TypeScript compiler to look for the sources (bin/dev.js
// runs those), doubling start-up (0.39 → 0.79 s measured) for commands it then takes from dist/.
//
// Before anything else, the V8 code cache for the build's files (bin/code-cache.cjs).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./code-cache.cjs').install();
const { execute, settings } = require('#oclif');
settings.enableAutoTranspile = false;
await execute({ dir: import.meta.url });
