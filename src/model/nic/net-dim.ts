import { US } from '../../engine/time.ts';

/**
 * struct dim and net_dim() (include/linux/dim.h, lib/dim/net_dim.c, lib/dim/dim.c): dynamic
 * interrupt moderation. Every DIM_NEVENTS interrupts it compares the traffic per millisecond
 * (bytes, then packets, then fewer events) with the previous sample and walks the profile index
 * left or right, parking on top when it found the best one or when tired.
 *
 * A struct dim starts zeroed (the q_vector is kzalloc'd): state DIM_START_MEASURE, tune_state
 * DIM_PARKING_ON_TOP, prev_stats zero; the driver sets profile_ix. The first net_dim() call only
 * takes the start sample. A decision does not change the moderation at once: net_dim sets
 * DIM_APPLY_NEW_PROFILE and schedule_work(&dim->work); until the driver's work function has run
 * (it writes the register and sets DIM_START_MEASURE again) net_dim() does nothing.
 */

export const DIM_NEVENTS = 64;
export const NET_DIM_PARAMS_NUM_PROFILES = 5;

/** enum dim_state. */
export const enum DimState {
  START_MEASURE = 0,
  MEASURE_IN_PROGRESS = 1,
  APPLY_NEW_PROFILE = 2,
}

/** enum dim_tune_state. */
export const enum DimTuneState {
  PARKING_ON_TOP = 0,
  PARKING_TIRED = 1,
  GOING_RIGHT = 2,
  GOING_LEFT = 3,
}

/** struct dim_stats: per-millisecond rates. */
interface DimStats {
  ppms: number;
  bpms: number;
  epms: number;
}

/** struct dim_sample. */
export interface DimSample {
  time: number;
  eventCtr: number;
  pktCtr: number;
  byteCtr: number;
}

export class Dim {
  state = DimState.START_MEASURE;
  tuneState = DimTuneState.PARKING_ON_TOP;
  profileIx: number;
  stepsLeft = 0;
  stepsRight = 0;
  tired = 0;
  /** dim->work is queued and has not run yet (WORK_STRUCT_PENDING). */
  workPending = false;
  private prevStats: DimStats = { ppms: 0, bpms: 0, epms: 0 };
  readonly startSample: DimSample = { time: 0, eventCtr: 0, pktCtr: 0, byteCtr: 0 };

  constructor(
    profileIx: number,
    /** schedule_work(&dim->work): the driver's work function runs later. */
    private readonly scheduleWork: (dim: Dim) => void,
  ) {
    this.profileIx = profileIx;
  }

  /** net_dim(dim, end_sample). */
  netDim(end: DimSample): void {
    switch (this.state) {
      case DimState.MEASURE_IN_PROGRESS: {
        // BIT_GAP(16, end, start): the event counter is a u16.
        const nevents = (end.eventCtr - this.startSample.eventCtr) & 0xffff;
        if (nevents < DIM_NEVENTS) return;
        const curr = calcStats(this.startSample, end);
        if (curr === null) return;
        if (this.decision(curr)) {
          this.state = DimState.APPLY_NEW_PROFILE;
          this.scheduleWork(this);
          return;
        }
        this.takeStart(end);
        return;
      }
      case DimState.START_MEASURE:
        this.takeStart(end);
        return;
      case DimState.APPLY_NEW_PROFILE:
        return;
    }
  }

  private takeStart(end: DimSample): void {
    const s = this.startSample;
    s.time = end.time;
    s.eventCtr = end.eventCtr;
    s.pktCtr = end.pktCtr;
    s.byteCtr = end.byteCtr;
    this.state = DimState.MEASURE_IN_PROGRESS;
  }

  /** net_dim_decision(): returns true if the profile index changed. */
  private decision(curr: DimStats): boolean {
    const prevState = this.tuneState;
    const prevIx = this.profileIx;
    switch (this.tuneState) {
      case DimTuneState.PARKING_ON_TOP:
        if (compareStats(curr, this.prevStats) !== 0) this.exitParking();
        break;
      case DimTuneState.PARKING_TIRED:
        if (--this.tired === 0) this.exitParking();
        break;
      default: {
        if (compareStats(curr, this.prevStats) !== 1) this.turn();
        if (this.onTop()) {
          this.parkOnTop();
          break;
        }
        const r = this.step();
        if (r === 'edge') this.parkOnTop();
        else if (r === 'tired') this.parkTired();
      }
    }
    if (prevState !== DimTuneState.PARKING_ON_TOP || this.tuneState !== DimTuneState.PARKING_ON_TOP) this.prevStats = curr;
    return this.profileIx !== prevIx;
  }

  /** net_dim_step(). */
  private step(): 'stepped' | 'edge' | 'tired' {
    if (this.tired === NET_DIM_PARAMS_NUM_PROFILES * 2) return 'tired';
    if (this.tuneState === DimTuneState.GOING_RIGHT) {
      if (this.profileIx === NET_DIM_PARAMS_NUM_PROFILES - 1) return 'edge';
      this.profileIx++;
      this.stepsRight++;
    } else if (this.tuneState === DimTuneState.GOING_LEFT) {
      if (this.profileIx === 0) return 'edge';
      this.profileIx--;
      this.stepsLeft++;
    }
    this.tired++;
    return 'stepped';
  }

  /** net_dim_exit_parking(). */
  private exitParking(): void {
    this.tuneState = this.profileIx > 0 ? DimTuneState.GOING_LEFT : DimTuneState.GOING_RIGHT;
    this.step();
  }

  /** dim_turn(). */
  private turn(): void {
    if (this.tuneState === DimTuneState.GOING_RIGHT) {
      this.tuneState = DimTuneState.GOING_LEFT;
      this.stepsLeft = 0;
    } else if (this.tuneState === DimTuneState.GOING_LEFT) {
      this.tuneState = DimTuneState.GOING_RIGHT;
      this.stepsRight = 0;
    }
  }

  /** dim_on_top(). */
  private onTop(): boolean {
    if (this.tuneState === DimTuneState.GOING_RIGHT) return this.stepsLeft > 1 && this.stepsRight === 1;
    if (this.tuneState === DimTuneState.GOING_LEFT) return this.stepsRight > 1 && this.stepsLeft === 1;
    return true;
  }

  /** dim_park_on_top(). */
  private parkOnTop(): void {
    this.stepsRight = 0;
    this.stepsLeft = 0;
    this.tired = 0;
    this.tuneState = DimTuneState.PARKING_ON_TOP;
  }

  /** dim_park_tired(). */
  private parkTired(): void {
    this.stepsRight = 0;
    this.stepsLeft = 0;
    this.tuneState = DimTuneState.PARKING_TIRED;
  }
}

/** dim_calc_stats(): rates per millisecond, rounded up; null when no time passed (delta_us 0). */
function calcStats(start: DimSample, end: DimSample): DimStats | null {
  const deltaUs = Math.floor((end.time - start.time) / US);
  if (deltaUs <= 0) return null;
  return {
    ppms: Math.ceil(((end.pktCtr - start.pktCtr) * 1000) / deltaUs),
    bpms: Math.ceil(((end.byteCtr - start.byteCtr) * 1000) / deltaUs),
    epms: Math.ceil((DIM_NEVENTS * 1000) / deltaUs), // the kernel's DIM_NEVENTS, not the events counted
  };
}

/** IS_SIGNIFICANT_DIFF: more than 10 % apart. */
function significant(val: number, ref: number): boolean {
  return ref !== 0 && (100 * Math.abs(val - ref)) / ref > 10;
}

/** net_dim_stats_compare(): 1 better, -1 worse, 0 same (bytes, then packets, then fewer events). */
function compareStats(curr: DimStats, prev: DimStats): number {
  if (!prev.bpms) return curr.bpms ? 1 : 0;
  if (significant(curr.bpms, prev.bpms)) return curr.bpms > prev.bpms ? 1 : -1;
  if (!prev.ppms) return curr.ppms ? 1 : 0;
  if (significant(curr.ppms, prev.ppms)) return curr.ppms > prev.ppms ? 1 : -1;
  if (!prev.epms) return 0;
  if (significant(curr.epms, prev.epms)) return curr.epms < prev.epms ? 1 : -1;
  return 0;
}
