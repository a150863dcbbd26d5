import type { Expectation } from '../scenario/schema.ts';
import { metricValue } from './result.ts';

export interface ExpectationOutcome {
  metric: string;
  /** ">= 9", "within [1, 2]". */
  condition: string;
  actual: number | undefined;
  /** A claim's finding in words (an `explain` claim), where the outcome is not a number. */
  actualText?: string;
  pass: boolean;
  why: string | undefined;
}

const OPS = ['>=', '<=', '>', '<', '==', 'within'] as const;

/** Evaluate a scenario's `expect` entries against a result; a missing metric fails. */
export function evaluateExpectations(result: unknown, expectations: readonly Expectation[]): ExpectationOutcome[] {
  return expectations.map((e) => {
    const op = OPS.find((o) => e[o] !== undefined)!;
    const actual = metricValue(result, e.metric);
    let pass = false;
    let condition: string;
    if (op === 'within') {
      const [lo, hi] = e.within!;
      condition = `within [${lo}, ${hi}]`;
      pass = actual !== undefined && actual >= lo && actual <= hi;
    } else {
      const v = e[op] as number;
      condition = `${op} ${v}`;
      if (actual !== undefined) {
        pass = op === '>=' ? actual >= v : op === '<=' ? actual <= v : op === '>' ? actual > v : op === '<' ? actual < v : actual === v;
      }
    }
    return { metric: e.metric, condition, actual, pass, why: e.why };
  });
}
