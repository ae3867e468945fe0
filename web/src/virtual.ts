// Windowing math for the message list: rows have measured heights (or an estimate),
// and only the rows intersecting the viewport (plus some overscan) are rendered.

export interface Layout {
  /** offsets[i] is the top of row i; offsets[n] is the total height. */
  offsets: Float64Array;
  total: number;
}

export function layout(keys: readonly string[], heights: ReadonlyMap<string, number>, estimate: number): Layout {
  const offsets = new Float64Array(keys.length + 1);
  let y = 0;
  for (let i = 0; i < keys.length; i++) {
    offsets[i] = y;
    y += heights.get(keys[i]) ?? estimate;
  }
  offsets[keys.length] = y;
  return { offsets, total: y };
}

/** Index of the row containing y (the last row whose top is <= y). */
export function indexAt(l: Layout, y: number): number {
  const n = l.offsets.length - 1;
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (l.offsets[mid] <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** [start, end) of the rows to render for a viewport at scrollTop of the given height. */
export function visibleRange(l: Layout, scrollTop: number, height: number, overscanPx: number): [number, number] {
  const n = l.offsets.length - 1;
  if (n <= 0) return [0, 0];
  const start = indexAt(l, Math.max(0, scrollTop - overscanPx));
  const end = Math.min(n, indexAt(l, scrollTop + height + overscanPx) + 1);
  return [start, end];
}
