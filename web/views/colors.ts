import type { SpanClass } from '../../src/trace/names.ts';

/** One colour per kind of CPU time, used by the timeline and its legend. */
export const SPAN_COLOURS: Record<SpanClass, string> = {
  idle: '#eef0f4',
  hardirq: '#d62728',
  softirq: '#ff7f0e',
  ksoftirqd: '#9467bd',
  'napi-thread': '#8c564b',
  app: '#2ca02c',
  switch: '#7f7f7f',
};

export const fmt = (x: number, digits = 0): string => x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
