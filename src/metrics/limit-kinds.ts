/**
 * What can limit a flow, as `rxsim explain` names it (src/study/explain.ts says what each means)
 * and as a scenario's `explain` claims state it.
 */
export const LIMIT_KINDS = ['wire', 'offered-load', 'cpu', 'queue', 'receive-window', 'latency', 'no-listener', 'not-forwarded', 'xdp-program', 'idle'] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];
