/**
 * An empty array that V8 already stores as an array of objects. `[]` starts out as an array of
 * small integers, and the first object pushed changes its hidden class: every optimised function
 * that had read the array (the per-tick loops over a market's positions) is thrown away and
 * compiled again on the first position. The literal below holds an object, so the array is of the
 * object kind from the start, and an array's kind never narrows back when it is emptied.
 */
export function objectArray<T extends object>(): T[] {
  const array: object[] = [{}];
  array.pop();
  return array as T[];
}
