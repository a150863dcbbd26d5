import { describe, expect, it } from 'vitest';
import { RngStream } from '../../src/engine/index.ts';

const draws = (r: RngStream, n: number) => Array.from({ length: n }, () => r.uniform());

describe('RngStream', () => {
  it('is reproducible for the same (seed, name)', () => {
    expect(draws(new RngStream(7, 'flow:f1'), 20)).toEqual(draws(new RngStream(7, 'flow:f1'), 20));
  });

  it('differs by seed and by name', () => {
    const a = draws(new RngStream(7, 'flow:f1'), 20);
    expect(draws(new RngStream(8, 'flow:f1'), 20)).not.toEqual(a);
    expect(draws(new RngStream(7, 'flow:f2'), 20)).not.toEqual(a);
  });

  it('streams are independent: drawing from one does not change another', () => {
    const alone = draws(new RngStream(1, 'flow:a'), 50);
    const other = new RngStream(1, 'flow:b');
    const a = new RngStream(1, 'flow:a');
    const interleaved: number[] = [];
    for (let i = 0; i < 50; i++) {
      draws(other, 3);
      interleaved.push(a.uniform());
    }
    expect(interleaved).toEqual(alone);
  });

  it('exponential draws have the requested mean (within 3 standard errors)', () => {
    const r = new RngStream(3, 'exp');
    const n = 200_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r.exponential(250);
    const mean = sum / n;
    expect(Math.abs(mean - 250)).toBeLessThan(3 * (250 / Math.sqrt(n)));
  });

  it('uniform values are in [0,1) and int(n) in [0,n)', () => {
    const r = new RngStream(3, 'u');
    for (let i = 0; i < 10_000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });
});
