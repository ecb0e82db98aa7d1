'use strict';
// The build's src/core/services/dynamic-import.ts (scripts/bundle.mjs maps it here): an `import()`
// in a file Node compiles itself, not from trailguard's code cache (see that file).
module.exports = { dynamicImport: (specifier) => import(specifier) };
