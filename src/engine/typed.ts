/** Typed arrays that grow: a copy of `a` with room for `capacity` elements (new ones zero). */
export function grown<T extends Float64Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/** A free-index stack: the indices kept so far, then [from, to) pushed so that low indices come out first. */
export function freeStack(from: number, to: number, keep: Int32Array, kept: number): Int32Array {
  const free = new Int32Array(to);
  free.set(keep.subarray(0, kept));
  let top = kept;
  for (let i = to - 1; i >= from; i--) free[top++] = i;
  return free;
}
