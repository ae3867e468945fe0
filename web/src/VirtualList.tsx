// A windowed list for chat history: only the rows in view (plus overscan) are in the
// DOM, row heights are measured as they render, and the scroll position is anchored so
// that loading older messages above, or a row growing, never moves what the user reads.
// At the bottom it sticks to the bottom as new messages arrive.

import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { indexAt, layout, visibleRange } from "./virtual";

interface Props<T> {
  items: readonly T[];
  keyOf: (item: T) => string;
  render: (item: T) => ComponentChildren;
  estimate?: number;
  overscan?: number;
  onNearTop?: () => void;
  /** Set while newer rows exist beyond the last one held (the list then never sticks). */
  onNearBottom?: () => void;
  /** Scroll so this key is in view (change `nonce` to ask again). */
  jump?: { key: string; nonce: number } | null;
  /** Change to scroll to the bottom and stick there (e.g. after the user sends). */
  toBottom?: number;
  class?: string;
}

function MeasuredRow(props: { vkey: string; top: number; observer: ResizeObserver; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    props.observer.observe(el);
    return () => props.observer.unobserve(el);
  }, [props.observer]);
  return (
    <div ref={ref} class="vrow" data-vkey={props.vkey} style={{ transform: `translateY(${props.top}px)` }}>
      {props.children}
    </div>
  );
}

export function VirtualList<T>(props: Props<T>) {
  const estimate = props.estimate ?? 64;
  const overscan = props.overscan ?? 800;
  const ref = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [tick, setTick] = useState(0);
  const [view, setView] = useState({ top: 0, height: 800 });
  // A list opened around a message (newer rows not loaded) does not start at the bottom.
  const stick = useRef(!props.onNearBottom);
  /** Where the list last scrolled itself: only the user's own scrolling loads newer rows. */
  const placed = useRef(-1);
  const anchor = useRef<{ key: string; delta: number } | null>(null);

  const keys = useMemo(() => props.items.map(props.keyOf), [props.items]);
  const lay = useMemo(() => layout(keys, heights.current, estimate), [keys, tick, estimate]);
  const layRef = useRef(lay);
  layRef.current = lay;
  const keysRef = useRef(keys);
  keysRef.current = keys;

  const observer = useMemo(
    () =>
      new ResizeObserver((entries) => {
        let changed = false;
        for (const e of entries) {
          const el = e.target as HTMLElement;
          const key = el.dataset.vkey;
          if (!key) continue;
          const h = e.borderBoxSize?.[0]?.blockSize ?? el.getBoundingClientRect().height;
          if (h > 0 && Math.abs((heights.current.get(key) ?? -1) - h) > 0.5) {
            heights.current.set(key, h);
            changed = true;
          }
        }
        if (changed) setTick((t) => t + 1);
      }),
    [],
  );
  useEffect(() => () => observer.disconnect(), [observer]);

  const remember = (el: HTMLDivElement) => {
    const l = layRef.current;
    stick.current = !props.onNearBottom && el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    const i = indexAt(l, el.scrollTop);
    const key = keysRef.current[i];
    anchor.current = key === undefined ? null : { key, delta: el.scrollTop - l.offsets[i] };
  };

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    remember(el);
    setView({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < overscan / 2) props.onNearTop?.();
    const byUser = Math.abs(el.scrollTop - placed.current) > 1;
    if (byUser && el.scrollHeight - el.scrollTop - el.clientHeight < overscan / 2) props.onNearBottom?.();
  };

  // Viewport resizes (window, keyboard on phones).
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A jump request: put that row a little below the top and stop sticking to the bottom.
  useLayoutEffect(() => {
    if (!props.jump) return;
    const i = keys.indexOf(props.jump.key);
    if (i < 0) return;
    stick.current = false;
    anchor.current = { key: props.jump.key, delta: -48 };
  }, [props.jump?.nonce, props.jump?.key]);

  useLayoutEffect(() => {
    if (props.toBottom) stick.current = true;
  }, [props.toBottom]);

  // After every render: keep the bottom, or keep the anchored row where it was.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const max = Math.max(0, lay.total - el.clientHeight);
    let target: number | null = null;
    if (stick.current) target = max;
    else if (anchor.current) {
      const i = keys.indexOf(anchor.current.key);
      if (i >= 0) target = Math.min(max, Math.max(0, lay.offsets[i] + anchor.current.delta));
    }
    if (target !== null && Math.abs(el.scrollTop - target) > 1) {
      const before = el.scrollTop;
      el.scrollTop = target;
      placed.current = el.scrollTop;
      // The browser may clamp; only re-render when the position really moved.
      if (Math.abs(el.scrollTop - before) > 0.5) setView({ top: el.scrollTop, height: el.clientHeight });
    }
    if (el.scrollTop < overscan / 2 && lay.total > 0) props.onNearTop?.();
  });

  const [start, end] = visibleRange(lay, view.top, view.height, overscan);
  const rows = [];
  for (let i = start; i < end; i++) {
    const item = props.items[i];
    rows.push(
      <MeasuredRow key={keys[i]} vkey={keys[i]} top={lay.offsets[i]} observer={observer}>
        {props.render(item)}
      </MeasuredRow>,
    );
  }
  return (
    <div ref={ref} class={`vlist ${props.class ?? ""}`} onScroll={onScroll} data-testid="message-list">
      <div class="vlist-inner" style={{ height: `${lay.total}px` }}>
        {rows}
      </div>
    </div>
  );
}
