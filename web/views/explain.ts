import type { Result } from '../../src/metrics/result.ts';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { explain, type ChainLink, type CpuContexts, type Explanation, type FlowExplanation } from '../../src/study/explain.ts';
import { remedyResults, remedySweep, type RemedyResult } from '../../src/study/remedies.ts';
import { scenarioObject, shardRuns, type Sweep } from '../../src/study/sweep.ts';
import { fmtNumber } from '../../src/study/table.ts';
import { parseJsonText, parseSeeds } from '../../src/study/values.ts';
import { SPAN_CLASSES, type VizData } from '../../src/trace/viz.ts';
import { cursor, focus } from '../cursor.ts';
import { el, SPAN_COLOURS } from './colors.ts';
import { Pool } from './sweep.ts';

/**
 * Explain: `rxsim explain` in the browser. After a run, per flow: what limited it, where its
 * packets waited (by stage) and where they were lost (by place and kernel drop reason), the CPU
 * contexts of the limiting CPU, and the chain of cause and effect as steps, each citing the result
 * paths that show it. Clicking a step moves the page's time cursor and focus (web/cursor.ts) so
 * the path and timeline views show it. "Teach" mode asks "where is the bottleneck?" and reveals
 * the answer and then the steps one at a time. "Run remedies" runs the flow's remedies as
 * replicas in the Sweep tab's Web Worker pool — the same sweep (remedySweep) and summary
 * (remedyResults) as `rxsim explain`, so the figures are the CLI's for the same seeds.
 */

/** Workers in the remedies' pool: as the Sweep tab. */
const MAX_WORKERS = 8;

/** The path stages (path.ts's `stage-<id>`) a result path points at. */
function stagesOfPath(path: string): string[] {
  const drop = /\.drops\.(\w+)$|\.drop_reasons\.(\w+)\./.exec(path);
  if (drop) {
    const place = drop[1] ?? drop[2]!;
    const byPlace: Record<string, string[]> = {
      wire: ['wire'],
      nic_ring: ['nic'],
      nic_missed: ['nic'],
      xdp: ['nic'],
      backlog: ['backlog'],
      flow_limit: ['backlog'],
      veth: ['veth'],
      no_socket: ['l4'],
      socket: ['socket'],
      tcp_dup: ['l4'],
    };
    return byPlace[place] ?? [];
  }
  if (/\.stages_us\.ring$|itr_usecs$/.test(path)) return ['nic', 'irq'];
  if (/\.stages_us\.stack$/.test(path)) return ['napi', 'ip', 'l4'];
  if (/\.stages_us\.socket$|copied_llc_pct$/.test(path)) return ['socket', 'app'];
  if (/rwnd_limited_pct$|goodput_gbps$|delivered_gbps$|offered_gbps$/.test(path)) return ['wire', 'socket', 'app'];
  if (/^cpus\[\d+\]\.irq$/.test(path)) return ['irq'];
  if (/^cpus\[\d+\]\.(soft|ksoftirqd)$|^tasks\[ksoftirqd|time_squeeze/.test(path)) return ['napi'];
  if (/^cpus\[\d+\]\.(sys|usr)$|^tasks\[/.test(path)) return ['app'];
  if (/UdpNoPorts/.test(path)) return ['l4'];
  if (/^rr\[/.test(path)) return ['wire', 'app'];
  return [];
}

export function stagesOf(link: ChainLink): string[] {
  return [...new Set(link.evidence.flatMap((e) => stagesOfPath(e.path)))];
}

/** When a step is first visible in the run's trace: the first span of the CPU context it cites (ksoftirqd, softirq), else the start of the measured window. */
function timeOf(link: ChainLink, viz: VizData | null, windowStart: number): number {
  if (!viz) return windowStart;
  const want = (cls: string, cpu: number): number => {
    const c = SPAN_CLASSES.indexOf(cls as (typeof SPAN_CLASSES)[number]);
    const s = viz.spans;
    for (let i = 0; i < s.cls.length; i++) if (s.cls[i] === c && s.cpu[i] === cpu && s.start[i]! >= windowStart) return s.start[i]!;
    return windowStart;
  };
  for (const e of link.evidence) {
    const m = /^cpus\[(\d+)\]\.(\w+)$|^tasks\[ksoftirqd\/(\d+)\]/.exec(e.path);
    if (!m) continue;
    if (m[3] !== undefined || m[2] === 'ksoftirqd') return want('ksoftirqd', Number(m[3] ?? m[1]));
    if (m[2] === 'soft') return want('softirq', Number(m[1]));
    if (m[2] === 'irq') return want('hardirq', Number(m[1]));
  }
  return windowStart;
}

const CONTEXTS: { key: keyof CpuContexts; label: string; colour: string }[] = [
  { key: 'hardirq', label: 'hardirq', colour: SPAN_COLOURS.hardirq },
  { key: 'softirq_inline', label: 'softirq inline', colour: SPAN_COLOURS.softirq },
  { key: 'ksoftirqd', label: 'ksoftirqd', colour: SPAN_COLOURS.ksoftirqd },
  { key: 'napi_threads', label: 'NAPI threads', colour: SPAN_COLOURS['napi-thread'] },
  { key: 'reader', label: 'reader', colour: SPAN_COLOURS.app },
  { key: 'other_tasks', label: 'other tasks', colour: '#1f77b4' },
  { key: 'idle', label: 'idle', colour: SPAN_COLOURS.idle },
];
const STAGE_COLOURS: Record<string, string> = { ring: '#d62728', stack: '#ff7f0e', socket: '#2ca02c' };

/** A horizontal bar of shares (%), each part labelled in its title. */
function bar(parts: { label: string; pct: number; colour: string }[], testid: string): HTMLElement {
  const b = el('div', { class: 'xbar', 'data-testid': testid });
  for (const p of parts) {
    if (p.pct <= 0) continue;
    const seg = el('div', { class: 'xseg', style: `width:${Math.min(100, p.pct)}%;background:${p.colour}`, title: `${p.label}: ${p.pct} %` });
    if (p.pct >= 12) seg.textContent = `${p.label} ${fmtNumber(p.pct, 3)} %`;
    b.append(seg);
  }
  return b;
}

const pct3 = (x: number | null): string => (x === null ? '–' : fmtNumber(x, 4));

export class ExplainView {
  private result: Result | null = null;
  private viz: VizData | null = null;
  private text = '';
  private label = 'scenario';
  private explanation: Explanation | null = null;
  /** Teach mode: how much of each flow is shown (0: the question; 1: the limit; 1 + k: k steps). */
  private teach = false;
  private revealed = new Map<string, number>();
  private pool: Pool | null = null;
  /** The last remedies run, per flow (for the tests and the curious). */
  readonly remedies = new Map<string, RemedyResult[]>();
  private readonly body: HTMLElement;
  private readonly seeds: HTMLInputElement;
  private readonly teachBox: HTMLInputElement;

  constructor(container: HTMLElement) {
    container.replaceChildren();
    const controls = el('div', { class: 'controls' });
    this.teachBox = el('input', { type: 'checkbox', 'data-testid': 'explain-teach' });
    this.teachBox.addEventListener('change', () => {
      this.teach = this.teachBox.checked;
      this.revealed.clear();
      this.render();
    });
    const teach = el('label', { class: 'inline' });
    teach.append(this.teachBox, document.createTextNode(' teach: ask "where is the bottleneck?", then reveal step by step'));
    this.seeds = el('input', { 'data-testid': 'explain-seeds', size: '8' });
    this.seeds.value = '1..5';
    const seedsLabel = el('label', { class: 'inline' }, 'remedy seeds ');
    seedsLabel.append(this.seeds);
    controls.append(teach, el('span', { class: 'spacer' }), seedsLabel);
    this.body = el('div', { 'data-testid': 'explain' });
    container.append(
      el(
        'p',
        { class: 'muted' },
        'rxsim explain: what limits each flow, read from this run’s counters, CPU times, queues and drops; every step cites the result path that shows it. Click a step to point the timeline and the packet path at it.',
      ),
      controls,
      this.body,
    );
  }

  /** A new run: its result, the scenario text it ran and the trace the views draw. */
  set(r: Result, text: string, label: string, viz: VizData | null): void {
    this.cancel();
    this.result = r;
    this.viz = viz;
    this.text = text;
    this.label = label;
    this.revealed.clear();
    this.remedies.clear();
    try {
      this.explanation = explain(r, loadScenario(text, {}).scenario);
    } catch (e) {
      this.explanation = null;
      this.body.replaceChildren(el('div', { class: 'error' }, e instanceof InputError ? e.message : `cannot explain: ${(e as Error).message}`));
      return;
    }
    this.render();
  }

  private render(): void {
    const e = this.explanation;
    if (!e) return;
    this.body.replaceChildren(...e.flows.map((f) => this.flowCard(f)));
  }

  private flowCard(f: FlowExplanation): HTMLElement {
    const card = el('div', { class: 'xflow', 'data-testid': `explain-flow-${f.flow}` });
    const o = f.outcome;
    card.append(
      el(
        'h3',
        {},
        `flow ${f.flow} (${f.proto}, ${f.path}): ${o.transactions_per_sec !== undefined ? `${o.transactions_per_sec} transactions/s, ` : ''}${o.delivered_gbps} of ${o.offered_gbps} Gbit/s delivered${f.proto === 'tcp' ? ` (goodput ${o.goodput_gbps})` : ''}`,
      ),
    );
    const shown = this.teach ? (this.revealed.get(f.flow) ?? 0) : Infinity;
    if (this.teach && shown === 0) {
      card.append(el('p', { class: 'xquestion', 'data-testid': 'explain-question' }, `Where is the bottleneck of ${f.flow}? Look at the timeline, the queues and the counters, then reveal.`));
    } else {
      card.append(this.limitBox(f));
    }
    const steps = el('ol', { class: 'xchain', 'data-testid': 'explain-chain' });
    f.chain.forEach((link, i) => {
      if (i + 2 > shown) return;
      steps.append(this.step(f, link, i));
    });
    if (steps.childElementCount > 0) card.append(el('h4', {}, 'why, step by step'), steps);
    if (this.teach && shown < f.chain.length + 1) {
      const next = el('button', { 'data-testid': 'explain-reveal' }, shown === 0 ? 'Reveal the bottleneck' : `Reveal step ${shown} of ${f.chain.length}`);
      next.addEventListener('click', () => {
        this.revealed.set(f.flow, shown + 1);
        this.render();
        if (shown >= 1) this.select(f, f.chain[shown - 1]!);
      });
      card.append(next);
    }
    if (!this.teach || shown > f.chain.length) card.append(this.remedyBox(f));
    return card;
  }

  private limitBox(f: FlowExplanation): HTMLElement {
    const box = el('div', { class: 'xlimit' });
    box.append(el('div', { class: 'xverdict', 'data-testid': 'explain-limit', 'data-kind': f.limit.kind }, `limit: ${f.limit.kind} — ${f.limit.summary}`));
    if (f.mechanisms.length > 0) box.append(el('div', { class: 'muted' }, `mechanisms: ${f.mechanisms.join(', ')}`));
    if (f.cpu) {
      const c = f.cpu;
      box.append(
        el('h4', {}, `CPU ${c.cpu}: where its time went (% of the window)`),
        bar(
          CONTEXTS.map((x) => ({ label: x.label, pct: c[x.key] as number, colour: x.colour })),
          'explain-cpu',
        ),
      );
    }
    if (f.waits.length > 0) {
      box.append(
        el('h4', {}, `where its packets waited (mean of delivered segments: ${f.waits.map((w) => `${w.stage} ${w.mean_us} µs`).join(', ')})`),
        bar(
          f.waits.map((w) => ({ label: w.stage, pct: w.share_pct, colour: STAGE_COLOURS[w.stage]! })),
          'explain-waits',
        ),
      );
    }
    if (f.losses.length > 0) {
      const t = el('table', { class: 'counters', 'data-testid': 'explain-losses' });
      t.append(el('thead'), el('tbody'));
      const h = el('tr');
      for (const c of ['lost at', 'packets', '% of offered', 'kernel drop reason']) h.append(el('th', {}, c));
      t.tHead!.append(h);
      for (const l of f.losses) {
        const tr = el('tr');
        tr.append(
          el('td', { class: 'name' }, l.place),
          el('td', {}, String(l.packets)),
          el('td', {}, String(l.pct_of_offered)),
          el('td', {}, l.reasons.length > 0 ? l.reasons.map((r) => `${r.reason} ${r.packets}`).join(', ') : 'none (no skb)'),
        );
        t.tBodies[0]!.append(tr);
      }
      box.append(el('h4', {}, 'where its packets were lost'), t);
    }
    return box;
  }

  private step(f: FlowExplanation, link: ChainLink, i: number): HTMLElement {
    const li = el('li', { class: 'xstep', 'data-testid': 'explain-step', tabindex: '0' });
    li.append(el('div', {}, link.text));
    const ev = el('div', { class: 'xevidence' });
    for (const x of link.evidence) ev.append(el('code', { title: `shown in the ${x.view} view` }, `${x.path} = ${x.value}`));
    li.append(ev);
    const go = (): void => this.select(f, link, li);
    li.addEventListener('click', go);
    li.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') go();
    });
    li.dataset.step = String(i);
    return li;
  }

  /** Point the page at a step: the time cursor to when it first shows, the focus on its stages. */
  private select(f: FlowExplanation, link: ChainLink, li?: HTMLElement): void {
    for (const o of this.body.querySelectorAll('.xstep.selected')) o.classList.remove('selected');
    li?.classList.add('selected');
    const start = this.result?.sim.warmup_ns ?? 0;
    cursor.seek(timeOf(link, this.viz, start), 'explain');
    focus.show(stagesOf(link), `${f.flow}: ${link.text}`, 'explain');
  }

  // ---- remedies ----

  private remedyBox(f: FlowExplanation): HTMLElement {
    const box = el('div', { class: 'xremedies', 'data-testid': `explain-remedies-${f.flow}` });
    if (f.remedies.length === 0) {
      box.append(el('p', { class: 'muted' }, 'No remedy to try for this limit.'));
      return box;
    }
    box.append(el('h4', {}, 'remedies a kernel engineer would try'));
    const list = el('ul');
    for (const r of f.remedies) {
      const li = el('li');
      li.append(el('b', {}, r.name), document.createTextNode(`: ${r.why}${r.leaves ? ` (it leaves ${r.leaves})` : ''}`));
      const pre = el('pre', { class: 'xcommands' }, r.commands.join('\n'));
      li.append(pre);
      list.append(li);
    }
    const run = el('button', { 'data-testid': 'explain-run-remedies' }, 'Run remedies');
    const status = el('span', { class: 'muted', 'data-testid': 'explain-remedies-status' });
    const out = el('div');
    run.addEventListener('click', () => this.runRemedies(f, run, status, out));
    box.append(list, run, status, out);
    const done = this.remedies.get(f.flow);
    if (done) out.append(this.remedyTable(done));
    return box;
  }

  private cancel(): void {
    this.pool?.terminate();
    this.pool = null;
  }

  private runRemedies(f: FlowExplanation, button: HTMLButtonElement, status: HTMLElement, out: HTMLElement): void {
    this.cancel();
    let sweep: Sweep;
    try {
      const seeds = parseSeeds(this.seeds.value.trim(), `seeds "${this.seeds.value}"`);
      sweep = remedySweep(scenarioObject(parseJsonText(this.text, this.label), this.label), this.label, f, seeds, this.explanation ?? undefined);
    } catch (e) {
      status.textContent = e instanceof InputError ? e.message : `cannot run the remedies: ${(e as Error).message}`;
      return;
    }
    const runs = shardRuns(sweep);
    const metrics = new Map<number, (number | null)[]>();
    const size = Math.max(1, Math.min(MAX_WORKERS, navigator.hardwareConcurrency || 1, runs.length));
    button.disabled = true;
    status.textContent = ` 0 of ${runs.length} runs (${f.remedies.length} remedies and the unchanged scenario × ${sweep.seeds.length} seeds, ${size} workers)`;
    const pool = new Pool(sweep, runs, size, (a) => {
      if (this.pool !== pool) return;
      if ('error' in a) {
        this.cancel();
        button.disabled = false;
        status.textContent = ` run ${a.run}: ${a.error}`;
        return;
      }
      metrics.set(a.run, a.metrics);
      status.textContent = ` ${metrics.size} of ${runs.length} runs`;
      if (metrics.size < runs.length) return;
      this.cancel();
      button.disabled = false;
      const results = remedyResults(f, sweep, (run) => metrics.get(run));
      this.remedies.set(f.flow, results);
      status.textContent = ` ${runs.length} runs, seeds ${sweep.seeds.join(',')}`;
      out.replaceChildren(this.remedyTable(results));
    });
    this.pool = pool;
  }

  private remedyTable(rs: RemedyResult[]): HTMLElement {
    const box = el('div');
    const t = el('table', { class: 'counters', 'data-testid': 'explain-remedy-table' });
    t.append(el('thead'), el('tbody'));
    const h = el('tr');
    for (const c of ['remedy', 'metric', 'now', 'with it', 'change', '95 % CI', 'verdict']) h.append(el('th', {}, c));
    t.tHead!.append(h);
    for (const r of rs) {
      const tr = el('tr', { 'data-verdict': r.verdict });
      tr.append(
        el('td', { class: 'name' }, r.remedy),
        el('td', {}, r.metric),
        el('td', {}, pct3(r.baseline.mean)),
        el('td', {}, pct3(r.with_remedy.mean)),
        el('td', {}, r.effect.diff === null ? '' : `${r.effect.diff >= 0 ? '+' : ''}${pct3(r.effect.diff)}`),
        el('td', {}, r.effect.ci_lo === null ? '' : `[${pct3(r.effect.ci_lo)}, ${pct3(r.effect.ci_hi)}]`),
        el('td', { class: `verdict ${r.verdict.replace(/ /g, '-')}` }, r.verdict),
      );
      t.tBodies[0]!.append(tr);
    }
    box.append(t);
    for (const r of rs.filter((x) => x.why_not)) box.append(el('p', { class: 'xwhynot' }, `${r.remedy} — ${r.verdict}: ${r.why_not}`));
    return box;
  }
}
