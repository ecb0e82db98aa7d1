#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=1
// Memory, measured on a 10M-tick backtest (issue 4, `npm run bench`): the backtest's hot loop
// allocates almost nothing, so V8's young generation is kept at its smallest (1 MB semi-spaces;
// the default grows to 16 MB and only adds resident memory, at the same speed), and glibc keeps
// one malloc arena instead of one per thread (V8's compiler threads and the reader thread each
// left several MB behind in theirs): 106 → 97 MB with the reader thread, no slower.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
