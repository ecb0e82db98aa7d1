import { describe, expect, it } from 'vitest';

import { objectArray } from '../../../src/core/engine/object-array.js';

describe('objectArray', () => {
  it('is a new, empty, ordinary array on every call', () => {
    const a = objectArray<{ id: number }>();
    const b = objectArray<{ id: number }>();
    expect(a).toEqual([]);
    expect(Array.isArray(a)).toBe(true);
    expect(a).not.toBe(b);
    a.push({ id: 1 }, { id: 2 });
    expect(b).toHaveLength(0);
    expect(a.map((x) => x.id)).toEqual([1, 2]);
    a.splice(0, 1);
    expect(a).toEqual([{ id: 2 }]);
  });
});
