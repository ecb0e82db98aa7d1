#!/usr/bin/env -S node --max-semi-space-size=4
// The flag keeps V8's young generation small: the backtest's hot loop allocates almost nothing,
// so a larger one only adds resident memory (measured: 10M ticks, 110 → 91 MB, same speed).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
