import { z } from 'zod';
import { expectationSchema } from '../scenario/schema.ts';

/**
 * A lesson (lessons/*.json): ordered steps through shipped scenarios for a seminar. Each step
 * names a scenario, or changes the previous step's with the commands of `apply`; says when to
 * look (a time, or an event of the run's trace, event-selector.ts); which views and path stages
 * to show; the question for the room and the explanation revealed after. Its claims are
 * expectations on the step's run that `rxsim check lessons/` verifies for every seed, so a
 * lesson cannot contradict what the student sees.
 */

/** Path stages a step can highlight, as the path diagram names them (`data-testid="stage-<id>"`). */
export const LESSON_STAGES = ['wire', 'nic', 'irq', 'softirq', 'napi', 'gro', 'rps', 'backlog', 'ip', 'bridge', 'veth', 'l4', 'socket', 'app', 'xdp'] as const;

/** The browser's views (its tabs). */
export const LESSON_VIEWS = ['path', 'timeline', 'queues', 'latency', 'counters', 'step', 'tuning', 'report'] as const;

/**
 * Tracepoints a step can jump to (as ftrace names them). Per-packet events (net:netif_receive_skb)
 * are recorded only in the step window, so they are not offered.
 */
export const SELECTABLE_TRACEPOINTS = [
  'irq_handler_entry',
  'irq_handler_exit',
  'softirq_raise',
  'softirq_entry',
  'softirq_exit',
  'napi_poll',
  'sched_switch',
  'sched_wakeup',
  'ipi_send_cpu',
  'xdp_exception',
  'xdp_cpumap_enqueue',
  'xdp_cpumap_kthread',
  'xdp_devmap_xmit',
] as const;

export const eventSelectorSchema = z
  .strictObject({
    tracepoint: z.enum(SELECTABLE_TRACEPOINTS).describe('The tracepoint, as ftrace names it (sched_switch, irq_handler_entry, napi_poll, …).'),
    contains: z.string().min(1).optional().describe('Text the event\'s ftrace line must contain, e.g. "next_comm=ksoftirqd/4" or "work 64 budget 64".'),
    cpu: z.number().int().min(0).optional().describe('Only events on this CPU.'),
    task: z.string().min(1).optional().describe('Only events while this task is current on the CPU (ftrace\'s TASK column without the pid: "iperf3", "ksoftirqd/4", "swapper/0").'),
    after_ms: z.number().min(0).optional().describe('Only events at or after this time (ms from the start of the run; default: the end of the warm-up).'),
    nth: z.number().int().min(1).default(1).describe('The nth matching event (1: the first).'),
  })
  .describe('An event of the run to jump to: the nth event of a tracepoint after a time, optionally on one CPU and containing a text.');

export const lessonStepSchema = z
  .strictObject({
    title: z.string().min(1),
    scenario: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'a scenario name like "seed-lab-iperf3-on-irq-core"')
      .optional()
      .describe("A shipped scenario (sim-scenarios/<name>.json). Without it, the step runs the previous step's scenario."),
    apply: z.array(z.string()).default([]).describe("Commands applied after the scenario's own (the apply grammar: ethtool, sysctl -w, echo > …, taskset, ip link)."),
    at_ms: z.number().min(0).optional().describe('Where the cursor goes: ms from the start of the run.'),
    at_event: z
      .union([eventSelectorSchema, z.array(eventSelectorSchema).min(1)])
      .optional()
      .describe('Where the cursor goes: an event of the run, or a list of them: the first that happens in the run (a run that never hands the softirq to ksoftirqd has no such switch).'),
    views: z.array(z.enum(LESSON_VIEWS)).min(1).describe('The views to show, first one opened.'),
    stages: z.array(z.enum(LESSON_STAGES)).default([]).describe('Path stages to highlight.'),
    caption: z.string().optional().describe('The focus caption (default: the title).'),
    question: z.string().min(1).describe('Asked before the explanation is shown.'),
    explanation: z.string().min(1).describe('What the run shows, with numbers the student can find in the views (backed by `expect`).'),
    expect: z.array(expectationSchema).min(1).describe("The explanation's claims. A metric is a result path, or step.at_ms (the time the step jumps to)."),
  })
  .refine((s) => (s.at_ms === undefined) !== (s.at_event === undefined), { message: 'needs exactly one of "at_ms", "at_event"' });

export const lessonSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a slug like "path-of-one-packet"'),
    title: z.string().min(1),
    summary: z.string().min(1),
    steps: z.array(lessonStepSchema).min(1),
  })
  .describe('An rxsim lesson.');

export type Lesson = z.output<typeof lessonSchema>;
export type LessonStep = Lesson['steps'][number];
export type EventSelector = z.output<typeof eventSelectorSchema>;
/** A step's `at_event`: one selector, or fallbacks in order. */
export type EventChoice = EventSelector | EventSelector[];
export type LessonStage = (typeof LESSON_STAGES)[number];

/** The JSON Schema editors use (`$schema` in lesson files). */
export function lessonJsonSchema(): object {
  const schema = z.toJSONSchema(lessonSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://rxsim.invalid/lesson.schema.json', title: 'rxsim lesson' };
}
