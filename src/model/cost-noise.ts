import { RngStream } from '../engine/rng.ts';

/**
 * The variation of CPU cost that real machines have from run to run and packet to packet (cache
 * misses, branch mispredictions, TLB and memory-controller contention): a chunk of CPU work —
 * a poll, a copy, a hardirq handler — takes its profile's mean time scaled by a random factor.
 *
 * A chunk of L ns is treated as L / STEP_NS independent steps whose costs each vary with the
 * coefficient of variation `cv` (variability.cost_cv), so the chunk's CV is cv·√(STEP_NS / L)
 * (no more than cv): a 64-frame poll varies little, a single wakeup a lot. The factor is
 * lognormal with mean 1, so the mean cost — and the profile's calibration — is kept. Each CPU
 * draws from its own stream, once per chunk (never per packet: a batch is what the kernel costs).
 */
export const STEP_NS = 100;

export class CostNoise {
  private readonly rng: RngStream;

  constructor(
    seed: number,
    name: string,
    private readonly cv: number,
  ) {
    this.rng = new RngStream(seed, `cost-noise:${name}`);
  }

  /** The time a chunk of `ns` of mean cost takes this time (at least 1 ns; 0 stays 0). */
  apply(ns: number): number {
    if (this.cv === 0 || ns <= 0) return ns;
    if (ns !== this.lastNs) this.shape(ns);
    const f = Math.exp(this.sigma * this.rng.normal() - this.halfS2);
    return Math.max(1, Math.round(ns * f));
  }

  /**
   * The lognormal's σ and σ²/2 for a chunk of `ns`: a pure function of `ns`, kept for the last
   * one (a CPU charges the same step costs over and over), so a draw costs one normal and one exp.
   */
  private shape(ns: number): void {
    const c = ns > STEP_NS ? this.cv * Math.sqrt(STEP_NS / ns) : this.cv;
    // Lognormal with mean 1 and CV c: σ² = ln(1 + c²), μ = −σ²/2.
    const s2 = Math.log(1 + c * c);
    this.lastNs = ns;
    this.sigma = Math.sqrt(s2);
    this.halfS2 = s2 / 2;
  }

  private lastNs = -1;
  private sigma = 0;
  private halfS2 = 0;
}
