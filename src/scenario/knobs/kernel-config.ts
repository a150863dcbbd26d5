import { buildOption, kernelOption } from './kinds.ts';
import { amount, choice, count, flag } from './values.ts';
import { oneOfNumbers, type SystemContext } from './types.ts';

/**
 * The kernel itself: build options and version-dependent behaviour, the `kernel` section of a
 * scenario. Nothing changes them on a running machine, so they have no apply command.
 */

export const hz = kernelOption<100 | 250 | 300 | 1000, number>('hz', {
  name: 'CONFIG_HZ',
  where: buildOption('CONFIG_HZ'),
  type: oneOfNumbers([100, 250, 300, 1000]),
  unit: 'Hz',
  default: 1000,
  range: '100, 250, 300, 1000',
  check: (value) => value,
  description: 'Timer interrupts per second: jiffies, the tick, MAX_SOFTIRQ_TIME and the netdev_budget_usecs default follow it.',
  source: 'include/asm-generic/param.h: HZ',
});

export const softirqMode = kernelOption<'inline' | 'defer-to-ksoftirqd', 'inline' | 'defer-to-ksoftirqd'>('softirq_mode', {
  where: 'kernel version: "inline" 6.5+, "defer-to-ksoftirqd" 4.9–6.4',
  ...choice(['inline', 'defer-to-ksoftirqd']),
  default: 'inline',
  description: '"inline": softirqs run at irq_exit / local_bh_enable even when ksoftirqd is runnable (6.5+). "defer-to-ksoftirqd": the 4.9–6.4 rule "softirq: Let ksoftirqd do its job".',
  source: 'kernel/softirq.c: invoke_softirq',
});

export const sched = kernelOption<'eevdf' | 'cfs', 'eevdf' | 'cfs'>('sched', {
  where: 'kernel version: EEVDF 6.6+, CFS before',
  ...choice(['eevdf', 'cfs']),
  default: 'eevdf',
  description: 'The fair scheduler: "eevdf" (6.6+) or "cfs" (before 6.6).',
  source: 'kernel/sched/fair.c: pick_next_entity',
});

export const idleExitUs = kernelOption<number, number>('idle_exit_us', {
  where: '/sys/devices/system/cpu/cpu<N>/cpuidle/state<K>/latency (the deepest state used)',
  ...amount('idle_exit_us'),
  unit: 'µs',
  default: 0,
  range: '>= 0',
  description: 'Exit latency of the idle state a CPU sleeps in (a C-state), paid by the first interrupt after idle. 0: polling idle.',
  source: 'drivers/cpuidle/cpuidle.c: cpuidle_enter_state',
});

export const irqTimeAccounting = kernelOption<boolean, boolean>('irq_time_accounting', {
  name: 'CONFIG_IRQ_TIME_ACCOUNTING',
  where: buildOption('CONFIG_IRQ_TIME_ACCOUNTING'),
  ...flag('irq_time_accounting'),
  range: 'true, false',
  description: 'Interrupt and softirq time is not charged to the interrupted task (its vruntime, its cgroup\'s cpu.max). Off: it is (the "Iron" effect).',
  source: 'kernel/sched/cputime.c: irqtime_account_irq',
});

export const schedMigrationCostNs = kernelOption<number, number>('sched_migration_cost_ns', {
  name: 'migration_cost_ns',
  where: '/sys/kernel/debug/sched/migration_cost_ns (debugfs since 5.13; sysctl kernel.sched_migration_cost_ns before)',
  ...count('sched_migration_cost_ns'),
  unit: 'ns',
  default: 500_000,
  range: '>= 0',
  description: 'A queued task that ran less than this long ago is cache-hot: load balancing leaves it where it is until balancing has failed cache_nice_tries times. 0: no task is hot.',
  source: 'kernel/sched/fair.c: task_hot',
});

/** The releases kernel.version takes: the one rxsim models, and the next, whose rules a knob may need. */
export const KERNEL_VERSIONS = ['6.18', '6.19'] as const;
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];

/** Is the scenario's kernel (SystemContext.version, 6.18 when absent) at least `v`? */
export function kernelAtLeast(ctx: SystemContext, v: KernelVersion): boolean {
  const [major, minor] = (ctx.version ?? '6.18').split('.').map(Number) as [number, number];
  const [wantMajor, wantMinor] = v.split('.').map(Number) as [number, number];
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

export const version = kernelOption<KernelVersion, KernelVersion>('version', {
  name: 'kernel version',
  where: 'uname -r (major.minor)',
  ...choice(KERNEL_VERSIONS),
  default: '6.18',
  description: 'The release for the rules rxsim gates on a version: 6.19 adds threaded NAPI busy polling (napi-set threaded "busy-poll"). Older behaviour has knobs of its own (softirq_mode, sched).',
  source: 'include/generated/uapi/linux/version.h: LINUX_VERSION_CODE',
});

export const KERNEL_CONFIG_KNOBS = [hz, softirqMode, sched, idleExitUs, irqTimeAccounting, schedMigrationCostNs, version];
