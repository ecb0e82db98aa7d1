/**
 * `import()` of a module found at run time (a user's entry module, tsx). Its own module so that the
 * build can replace it: in dist/, V8 runs trailguard's bundles from a code cache (bin/code-cache.cjs),
 * and Node 20 loses a cached script's `import()` callback ("A dynamic import callback was not
 * specified"). The build's copy is bin/dynamic-import.cjs, which Node compiles itself.
 */
export function dynamicImport(specifier: string): Promise<unknown> {
  return import(specifier);
}
