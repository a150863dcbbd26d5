import { Simulator, type EventKind, type Timer } from '../engine/simulator.ts';
import type { ResolvedScenario } from '../scenario/resolve.ts';
import type { CostTable } from './costs.ts';
import { createAppTask } from './app/index.ts';
import { Cgroup } from './cgroup.ts';
import { Cpu } from './cpu.ts';
import { IrqTable } from './irq.ts';
import { napiScheduleOn, napiWatchdog, netRxAction, type Napi } from './napi.ts';
import type { MsixVector } from './nic/msix.ts';
import { MIN_NAPI_ID, Nic } from './nic/nic.ts';
import { sameEndpoint, type ResolvedFlow } from '../scenario/resolve.ts';
import { PacketPool } from './packet.ts';
import { FlowLimit } from './rps.ts';
import { baseSliceNs } from './sched.ts';
import { CfsRunQueue } from './sched-cfs.ts';
import { EevdfRunQueue } from './sched-eevdf.ts';
import { LocalTcpSender } from './local-sender.ts';
import { Socket, TcpReceiver, type AckSink } from './socket.ts';
import { SoftnetData } from './softnet.ts';
import { handleSoftirqs, ksoftirqdActivity, NET_RX_SOFTIRQ, SOFTIRQ_NAMES } from './softirq.ts';
import { Stack, VXLAN_OVERHEAD } from './stack.ts';
import { Task } from './task.ts';
import { RrClient } from './rr-client.ts';
import { TCP_FRAME_OVERHEAD, TcpSender } from './tcp-sender.ts';
import type { TraceHooks } from './trace-hooks.ts';
import { VETH_MTU, VethRq } from './veth.ts';
import { OpenLoopSource } from './wire.ts';

/** IPI kinds carried by the ipi event (low 4 bits of its argument; the CPU is the rest). */
const IPI_RPS = 1;
const IPI_RESCHED = 2;
const KICK = 3;

/**
 * The simulated machine: CPUs, per-CPU softnet_data, ksoftirqd threads, IRQ descriptors, NICs,
 * the packet pool and the stack. It owns the engine's event kinds and the functions that cross
 * modules (wakeups, IPIs, raising softirqs). The kernel rules themselves live in the modules
 * named after them (softirq.ts, napi.ts, softnet.ts, sched.ts, nic/…).
 */
export class Kernel {
  readonly sim = new Simulator();
  readonly costs: CostTable;
  readonly hz: number;
  readonly tickNs: number;
  readonly seed: number;
  readonly warmupNs: number;
  readonly pool = new PacketPool();
  readonly cpus: Cpu[] = [];
  readonly softnet: SoftnetData[] = [];
  readonly ksoftirqd: Task[] = [];
  readonly tasks: Task[] = [];
  /** Application tasks, started at time 0. */
  private readonly appTasks: Task[] = [];
  readonly irqs: IrqTable;
  readonly nics: Nic[] = [];
  readonly stack: Stack;
  /** /proc/softirqs: per vector, per CPU. */
  readonly softirqCounts: Float64Array[];
  readonly softirqDefersToKsoftirqd: boolean;
  trace: TraceHooks | null = null;

  // sysctls as numbers.
  readonly netdevBudget: number;
  readonly netdevBudgetUsecs: number;
  readonly netdevMaxBacklog: number;
  readonly devRxWeight: number;
  readonly groNormalBatch: number;
  /** The flows whose frames GRO may merge (TCP), by flow index. */
  readonly groTcpFlows: Uint8Array;
  /** The remote TCP senders, by flow index. */
  readonly senders: (TcpSender | undefined)[] = [];
  /** Request/response clients, by flow index. */
  readonly rrClients: (RrClient | undefined)[] = [];
  /** The local (veth-local) TCP senders, by flow index. */
  readonly localSenders: (LocalTcpSender | undefined)[] = [];
  /** veth RX queues in NAPI mode (veth GRO on), one per CPU. */
  private readonly vethRqs: (VethRq | undefined)[] = [];

  // Event kinds.
  readonly cpuChunkEvent: EventKind;
  readonly cpuTickEvent: EventKind;
  readonly cpuWakeEvent: EventKind;
  readonly vectorFireEvent: EventKind;
  readonly vectorWatchEvent: EventKind;
  readonly napiWatchdogEvent: EventKind;
  private readonly ipiEvent: EventKind;
  private readonly rtoEvent: EventKind;
  private readonly delackEvent: EventKind;
  private readonly taskTimerEvent: EventKind;
  private readonly timelineEvent: EventKind;
  private readonly groupQuotaEvent: EventKind;
  private readonly groupPeriodEvent: EventKind;
  /** cgroups (cpu and cpuset controllers), by index. */
  readonly cgroups: Cgroup[];
  readonly irqTimeAccounting: boolean;
  /** The task of each app (null for kinds without one). */
  readonly appTask: (Task | null)[] = [];
  /** hrtimers of sleeping tasks (nanosleep), by task index. */
  private readonly taskTimers: (Timer | undefined)[] = [];

  readonly vectorsById: MsixVector[] = [];
  readonly napisById: Napi[] = [];
  nicVectorCount = 0;
  nextPid = 2;
  /** Start of the measurement window (end of warm-up), ns. */
  windowStart = 0;
  /** Per CPU: remote softnet_data whose backlog this CPU must IPI (sd->rps_ipi_list, newest first). */
  private readonly rpsIpiList: SoftnetData[][] = [];

  constructor(readonly scenario: ResolvedScenario) {
    const s = scenario;
    this.costs = s.costs;
    this.hz = s.hz;
    this.tickNs = Math.round(1e9 / s.hz);
    this.seed = s.seed;
    this.warmupNs = s.warmupNs;
    this.softirqDefersToKsoftirqd = s.softirqMode === 'defer-to-ksoftirqd';
    this.netdevBudget = s.sysctl['net.core.netdev_budget'];
    this.netdevBudgetUsecs = s.sysctl['net.core.netdev_budget_usecs'];
    this.netdevMaxBacklog = s.sysctl['net.core.netdev_max_backlog'];
    this.devRxWeight = s.sysctl['net.core.dev_weight'] * s.sysctl['net.core.dev_weight_rx_bias'];
    this.groNormalBatch = s.sysctl['net.core.gro_normal_batch'];
    this.softirqCounts = SOFTIRQ_NAMES.map(() => new Float64Array(s.cpus));
    this.irqs = new IrqTable(s.cpus);
    this.stack = new Stack(this, s);
    this.groTcpFlows = Uint8Array.from(s.flows, (f) => (f.proto === 'tcp' ? 1 : 0));

    this.cpuChunkEvent = this.sim.on((cpu) => this.cpus[cpu]!.onChunkEnd());
    this.cpuTickEvent = this.sim.on((cpu) => this.cpus[cpu]!.onTick());
    this.cpuWakeEvent = this.sim.on((cpu) => this.cpus[cpu]!.onIdleExit());
    this.vectorFireEvent = this.sim.on((v) => this.vectorsById[v]!.fire());
    this.vectorWatchEvent = this.sim.on((v) => this.vectorsById[v]!.onWatch());
    this.napiWatchdogEvent = this.sim.on((n) => this.onNapiTimer(this.napisById[n]!));
    this.ipiEvent = this.sim.on((arg) => this.onIpi(arg));
    this.rtoEvent = this.sim.on((flow) => (this.senders[flow] ?? this.localSenders[flow])!.onRto(this.sim.now));
    this.delackEvent = this.sim.on((sock) => this.stack.delayedAck(this.stack.sockets[sock]!));
    this.taskTimerEvent = this.sim.on((i) => this.onTaskTimer(this.tasks[i]!));
    this.timelineEvent = this.sim.on((i) => this.onTimeline(i));
    this.groupQuotaEvent = this.sim.on((g) => this.onGroupQuota(this.cgroups[g]!));
    this.groupPeriodEvent = this.sim.on((g) => this.onGroupPeriod(this.cgroups[g]!));
    this.irqTimeAccounting = s.irqTimeAccounting;
    this.cgroups = s.cgroups.map((cfg, i) => {
      const g = new Cgroup(i, cfg);
      if (g.limited) {
        g.quotaTimer = this.sim.timer(this.groupQuotaEvent, i);
        g.periodTimer = this.sim.timer(this.groupPeriodEvent, i);
      }
      return g;
    });

    const slice = baseSliceNs(s.cpus);
    for (let c = 0; c < s.cpus; c++) {
      this.cpus.push(new Cpu(c, this, s.sched === 'cfs' ? new CfsRunQueue(c, s.cpus) : new EevdfRunQueue(c, slice)));
      this.softnet.push(new SoftnetData(c, this, this.pool));
      this.rpsIpiList.push([]);
      const t = new Task(this.nextPid++, `ksoftirqd/${c}`, [c], 0, 'ksoftirqd', null);
      t.activity = ksoftirqdActivity(this, this.cpus[c]!, t);
      this.ksoftirqd.push(t);
      this.addTask(t);
    }
    for (const c of s.sysctl['net.core.flow_limit_cpu_bitmap']) this.softnet[c]!.flowLimit = new FlowLimit(s.sysctl['net.core.flow_limit_table_len']);
    this.createSockets();
    for (const f of s.flows) if (f.rr) this.rrClients[f.index] = new RrClient(f, (src) => this.nics[f.nic]!.wakeSource(src));
    let napiId = MIN_NAPI_ID;
    for (const nicCfg of s.nics) {
      const nic: Nic = new Nic(this, nicCfg, s.flows, napiId, (f) => this.senders[f.index] ?? this.rrClients[f.index] ?? new OpenLoopSource(f, nicCfg.speedGbps, this.seed));
      napiId += nicCfg.queues;
      if (nicCfg.driver.otherVectorName(nicCfg.name) !== null) this.irqs.reserve();
      this.nics.push(nic);
    }
    for (const app of s.apps) {
      const task = createAppTask(this, app);
      this.appTask.push(task);
      if (task && app.cgroup !== null) {
        task.group = this.cgroups.find((g) => g.cfg.name === app.cgroup)!;
        task.group.tasks.push(task);
      }
      if (task) {
        this.addTask(task);
        this.appTasks.push(task);
      }
    }
    s.timeline.forEach((change, i) => this.sim.at(change.atNs, this.timelineEvent, i));
    // Start every NIC vector watching for its first frame.
    for (const v of this.vectorsById) v.enable();
  }

  /**
   * Sockets: a TCP flow is its own connection (its socket is read by the app listening on its
   * destination, if any); UDP flows to one listening app share its socket. A destination nobody
   * listens on gets a socket that is drained at once. TCP flows also get their remote sender.
   */
  private createSockets(): void {
    const s = this.scenario;
    const stack = this.stack;
    const udpByKey = new Map<string, Socket>();
    const listener = (f: ResolvedFlow): number | null => {
      // Who reads a flow: a stream-reader its TCP, a udp-sink plain UDP, an rr-server requests.
      const reads = (a: ResolvedScenario['apps'][number]) =>
        a.kind === 'stream-reader' ? f.proto === 'tcp' : a.kind === 'udp-sink' ? f.proto === 'udp' && !f.rr : a.kind === 'rr-server' && f.rr !== null;
      const app = s.apps.find((a) => reads(a) && a.listen !== null && sameEndpoint(a.listen, f.dst));
      return app ? app.index : null;
    };
    for (const f of s.flows) {
      const app = listener(f);
      if (f.proto === 'tcp') {
        const nic = s.nics[f.nic]!;
        const timer = this.sim.timer(this.rtoEvent, f.index);
        const armRto = (at: number) => (at === Infinity ? timer.cancel() : timer.arm(Math.max(at, this.sim.now)));
        let sender: AckSink;
        let mss: number;
        if (f.path === 'veth-local') {
          mss = VETH_MTU - 52; // 20 IP + 32 TCP with timestamps
          const local = new LocalTcpSender(f, mss, (t) => this.wakeUp(t, t.cpu), armRto);
          this.localSenders[f.index] = local;
          sender = local;
        } else {
          const vxlan = f.path === 'vxlan-overlay';
          mss = nic.mtu - 52 - (vxlan ? VXLAN_OVERHEAD : 0);
          const wire = new TcpSender(f, mss, TCP_FRAME_OVERHEAD + (vxlan ? VXLAN_OVERHEAD : 0), f.writeSize, f.rttNs, nic.speedGbps, (src) => this.nics[f.nic]!.wakeSource(src), armRto);
          this.senders[f.index] = wire;
          sender = wire;
        }
        const tcpRmem = s.sysctl['net.ipv4.tcp_rmem'];
        const sock = new Socket(stack.sockets.length, 'tcp', app, tcpRmem[1]!, tcpRmem[2]!, new TcpReceiver(sender, mss, f.rttNs), this.pool);
        const delack = this.sim.timer(this.delackEvent, sock.index);
        sock.tcp!.delack = (at) => (at === Infinity ? delack.cancel() : delack.armNoLaterThan(at));
        stack.sockets.push(sock);
        stack.flowSocket[f.index] = sock.index;
      } else {
        const key = app !== null ? `app${app}` : f.dst.text;
        let sock = udpByKey.get(key);
        if (!sock) {
          sock = new Socket(stack.sockets.length, 'udp', app, s.sysctl['net.core.rmem_default'], s.sysctl['net.core.rmem_max'], null, this.pool);
          stack.sockets.push(sock);
          udpByKey.set(key, sock);
        }
        stack.flowSocket[f.index] = sock.index;
      }
    }
  }

  /**
   * veth_xmit on `cpu`: with GRO on the veth, into its NAPI queue on this CPU; otherwise
   * __netif_rx → enqueue_to_backlog of this CPU, or of the RPS CPU of the veth's RX queue.
   * Returns extra CPU cost (none: veth_xmit is in the pass cost).
   */
  vethXmit(cpu: Cpu, row: number): number {
    if (this.scenario.veth.gro) {
      let rq = this.vethRqs[cpu.id];
      if (!rq) {
        rq = new VethRq(this, -100 - cpu.id);
        rq.napi.timer = this.sim.timer(this.napiWatchdogEvent, this.napisById.length);
        this.napisById.push(rq.napi);
        this.vethRqs[cpu.id] = rq;
      }
      if (!rq.xmit(cpu, row)) this.stack.drop(row, 'veth');
      return 0;
    }
    this.stack.netifRx(cpu, row, this.stack.vethRps);
    return 0;
  }

  /** veth RX queues created so far (for results). */
  vethQueues(): VethRq[] {
    return this.vethRqs.filter((q): q is VethRq => q !== undefined);
  }

  allCpus(): number[] {
    return this.cpus.length ? this.cpus.map((c) => c.id) : Array.from({ length: this.scenario.cpus }, (_, i) => i);
  }

  addTask(t: Task): void {
    this.tasks.push(t);
  }

  /** jiffies (the boot value is 0). */
  jiffies(): number {
    return Math.floor(this.sim.now / this.tickNs);
  }

  /** usecs_to_jiffies(): rounded up. */
  usecsToJiffies(us: number): number {
    return Math.ceil((us * this.hz) / 1e6);
  }

  countIrq(desc: number, cpu: number): void {
    this.irqs.descs[desc]!.counts[cpu]++;
    this.trace?.irqEntry(cpu, desc);
  }

  // ---- softirqs ----

  /** __raise_softirq_irqoff(): mark pending; it runs at the next irq_exit, restart or bh-enable. */
  raiseSoftirqIrqoff(cpu: Cpu, nr: number): void {
    this.trace?.softirqRaise?.(cpu.id, nr); // trace_softirq_raise: on every raise, pending or not
    cpu.softirqPending |= 1 << nr;
  }

  /** raise_softirq_irqoff(): and wake ksoftirqd if not in interrupt context (nobody else would run it soon). */
  raiseSoftirq(cpu: Cpu, nr: number): void {
    this.raiseSoftirqIrqoff(cpu, nr);
    if (!cpu.inInterrupt()) this.wakeupSoftirqd(cpu.id);
  }

  handleSoftirqs(cpu: Cpu, ksirqd: boolean): Generator<number, void, void> {
    return handleSoftirqs(this, cpu, ksirqd);
  }

  netRxAction(cpu: Cpu): Generator<number, void, void> {
    return netRxAction(this, cpu);
  }

  /** wakeup_softirqd(). */
  wakeupSoftirqd(cpu: number): void {
    this.wakeUp(this.ksoftirqd[cpu]!, cpu);
  }

  /** ksoftirqd_running(): the 4.9–6.4 check (runnable counts as running). */
  ksoftirqdRunnable(cpu: number): boolean {
    return this.ksoftirqd[cpu]!.state === 'runnable';
  }

  // ---- NAPI / RPS plumbing ----

  /**
   * napi_schedule_rps(): the target backlog is local → schedule it here; remote → queue an IPI
   * for the end of net_rx_action (and raise NET_RX so that there is one).
   */
  napiScheduleRps(from: Cpu, sd: SoftnetData): void {
    if (sd.cpu === from.id) {
      napiScheduleOn(this, from, sd.backlog);
      return;
    }
    this.rpsIpiList[from.id]!.unshift(sd);
    const mysd = this.softnet[from.id]!;
    if (!mysd.inNetRxAction) this.raiseSoftirqIrqoff(from, NET_RX_SOFTIRQ);
  }

  /** sd_has_rps_ipi_waiting(). */
  rpsIpiWaiting(cpu: Cpu): boolean {
    return this.rpsIpiList[cpu.id]!.length > 0;
  }

  /** net_rps_send_ipi(): one IPI per remote CPU whose backlog this CPU scheduled. */
  *rpsSendIpis(cpu: Cpu): Generator<number, void, void> {
    const list = this.rpsIpiList[cpu.id]!;
    while (list.length > 0) {
      const sd = list.shift()!;
      this.softnet[cpu.id]!.ipiSent++;
      yield this.costs.ipi_send;
      this.trace?.ipiSend?.(cpu.id, sd.cpu);
      this.sim.at(this.sim.now, this.ipiEvent, sd.cpu * 16 + IPI_RPS);
    }
  }

  private onIpi(arg: number): void {
    const cpu = this.cpus[arg >> 4]!;
    const kind = arg & 15;
    if (kind === KICK) cpu.kick();
    else if (kind === IPI_RPS) cpu.raiseHardirq({ desc: this.irqs.CAL, handler: (c) => this.rpsTriggerSoftirq(c) });
    else cpu.raiseHardirq({ desc: this.irqs.RES, handler: (c) => this.schedulerIpi(c) });
  }

  /** rps_trigger_softirq(): the IPI handler schedules the local backlog NAPI. */
  private *rpsTriggerSoftirq(cpu: Cpu): Generator<number, void, void> {
    yield this.costs.hardirq_entry_exit + this.costs.ipi_handler;
    const sd = this.softnet[cpu.id]!;
    this.trace?.ipiReceive?.(cpu.id);
    napiScheduleOn(this, cpu, sd.backlog);
    sd.receivedRps++;
  }

  /** scheduler_ipi(): nothing to do but return from the interrupt with need_resched set. */
  private *schedulerIpi(cpu: Cpu): Generator<number, void, void> {
    void cpu;
    yield this.costs.hardirq_entry_exit + this.costs.ipi_handler;
  }

  /** hrtimer_nanosleep(): wake `task` at `atNs` (the hrtimer interrupt on its CPU wakes it). */
  sleepUntil(task: Task, atNs: number): void {
    const i = this.tasks.indexOf(task);
    let timer = this.taskTimers[i];
    if (!timer) timer = this.taskTimers[i] = this.sim.timer(this.taskTimerEvent, i);
    timer.arm(atNs);
  }

  private onTaskTimer(task: Task): void {
    this.cpus[task.cpu]!.raiseHardirq({
      desc: this.irqs.LOC,
      handler: function* (this: Kernel, c: Cpu) {
        yield this.costs.hardirq_entry_exit + this.costs.hrtimer_handler;
        this.wakeUp(task, c.id);
      }.bind(this),
    });
  }

  private onNapiTimer(n: Napi): void {
    this.cpus[n.timerCpu]!.raiseHardirq({ desc: this.irqs.LOC, handler: (c) => napiWatchdog(this, c, n) });
  }

  // ---- scheduler glue ----

  /** The local timer interrupt: scheduler_tick() → task_tick_fair() (may set need_resched). */
  *tickHandler(cpu: Cpu): Generator<number, void, void> {
    yield this.costs.hardirq_entry_exit + this.costs.timer_tick;
    this.updateCurr(cpu);
    cpu.rq.tick(); // task_tick_fair: CFS checks its slice here (EEVDF did in update_curr)
  }

  /** update_curr() on a CPU's run queue. */
  updateCurr(cpu: Cpu): void {
    cpu.updateCurr();
  }

  /**
   * try_to_wake_up(): pick a CPU (select_task_rq), enqueue with place_entity(), and preempt the
   * running task if the woken one should run first (check_preempt_wakeup_fair). Returns false
   * if the task was already runnable.
   */
  wakeUp(task: Task, wakerCpu: number): boolean {
    if (task.state === 'runnable') return false;
    const target = this.selectTaskRq(task, wakerCpu);
    const cpu = this.cpus[target]!;
    task.state = 'runnable';
    task.wakeups++;
    task.waitStart = this.sim.now;
    if (task.cpu !== target) {
      task.migrations++;
      task.cpu = target;
      task.migrated = true;
    }
    this.trace?.wakeup(target, task, wakerCpu);
    const g = task.group;
    if (g && g.throttled) {
      g.throttledTasks.push(task); // runnable, but its group's run queue is throttled
      return true;
    }
    this.updateCurr(cpu);
    if (g) task.weight = g.effectiveWeight(task);
    cpu.rq.enqueue(task);
    if (g) this.reweightGroup(g);
    if (cpu.rq.wouldPreempt(task)) this.resched(cpu, wakerCpu);
    return true;
  }

  // ---- cgroups (cgroup.ts) ----

  /** A CPU switched tasks: cgroup run counts, cpu.max timers, and shares when a member slept. */
  currChanged(prev: Task | null, next: Task | null): void {
    if (prev === next) return;
    const pg = prev?.group ?? null;
    const ng = next?.group ?? null;
    if (pg) pg.running--;
    if (ng) ng.running++;
    if (pg && prev!.state === 'sleeping') this.reweightGroup(pg);
    if (pg) this.armQuota(pg);
    if (ng && ng !== pg) this.armQuota(ng);
  }

  /** reweight_entity() for every runnable member: the group's share is split anew. */
  private reweightGroup(g: Cgroup): void {
    for (const t of g.tasks) {
      const w = g.effectiveWeight(t);
      if (t.state !== 'runnable' || g.throttledTasks.includes(t)) {
        t.weight = w;
        continue;
      }
      const cpu = this.cpus[t.cpu]!;
      if (cpu.rq.curr === t) cpu.updateCurr();
      if (cpu.rq.curr === t || cpu.rq.queued.includes(t)) cpu.rq.reweight(t, w);
      else t.weight = w;
    }
  }

  /** Arm the group's cpu.max timer for when its running members would use up the quota. */
  private armQuota(g: Cgroup): void {
    if (!g.limited) return;
    for (const cpu of this.cpus) if (cpu.rq.curr?.group === g) cpu.updateCurr();
    const at = g.exhaustionAt(this.sim.now);
    if (at === Infinity) g.quotaTimer!.cancel();
    else g.quotaTimer!.arm(at);
  }

  /** The quota timer: if the runtime is used up, throttle the group on every CPU. */
  private onGroupQuota(g: Cgroup): void {
    for (const cpu of this.cpus) if (cpu.rq.curr?.group === g) cpu.updateCurr();
    if (!g.exhausted()) {
      this.armQuota(g); // interrupt time was not charged (irq_time_accounting): not yet
      return;
    }
    let cpusWithMembers = 0;
    for (const cpu of this.cpus) {
      let has = false;
      for (const t of [...cpu.rq.queued]) {
        if (t.group !== g) continue;
        cpu.rq.saveLag(t, this.tickNs);
        cpu.rq.remove(t);
        g.throttledTasks.push(t);
        has = true;
      }
      if (cpu.rq.curr?.group === g) {
        this.resched(cpu, -1); // it leaves at its next schedule()
        has = true;
      }
      if (has) cpusWithMembers++;
    }
    g.throttle(this.sim.now, cpusWithMembers);
  }

  /** sched_cfs_period_timer: refill the quota; a throttled group's tasks go back on their run queues. */
  private onGroupPeriod(g: Cgroup): void {
    for (const cpu of this.cpus) if (cpu.rq.curr?.group === g) cpu.updateCurr();
    g.newPeriod(g.used > 0 || g.throttled || g.running > 0);
    if (g.throttled) {
      g.unthrottle(this.sim.now);
      for (const t of g.throttledTasks.splice(0)) {
        const cpu = this.cpus[t.allowed.includes(t.cpu) ? t.cpu : this.selectTaskRq(t, t.allowed[0]!)]!;
        t.cpu = cpu.id;
        this.updateCurr(cpu);
        cpu.rq.enqueue(t);
        if (cpu.rq.wouldPreempt(t)) this.resched(cpu, -1);
        else cpu.kick();
      }
      this.reweightGroup(g);
    }
    this.armQuota(g);
    g.periodTimer!.arm(this.sim.now + g.periodNs);
  }

  /**
   * resched_curr(): set need_resched; a remote CPU running a task gets a reschedule IPI, an idle
   * one notices by itself (it polls need_resched in its idle loop), the local one at its next
   * return from interrupt or preemption point.
   */
  resched(cpu: Cpu, fromCpu: number): void {
    cpu.rq.needResched = true;
    if (cpu.id === fromCpu) {
      cpu.kick();
      return;
    }
    const kind = cpu.rq.curr === null ? KICK : IPI_RESCHED;
    this.sim.at(this.sim.now, this.ipiEvent, cpu.id * 16 + kind);
  }

  /**
   * select_task_rq_fair(), simplified for one LLC: a task bound to one CPU goes there; otherwise
   * the waker's CPU if idle (wake_affine_idle), else the previous CPU if idle, else the first idle
   * allowed CPU scanning from the previous one (select_idle_cpu), else the previous CPU.
   */
  selectTaskRq(task: Task, wakerCpu: number): number {
    const allowed = task.allowed;
    if (allowed.length === 1) return allowed[0]!;
    const prev = allowed.includes(task.cpu) ? task.cpu : allowed[0]!;
    if (allowed.includes(wakerCpu) && this.idleCpu(wakerCpu)) return wakerCpu;
    if (this.idleCpu(prev)) return prev;
    const n = this.cpus.length;
    for (let i = 1; i < n; i++) {
      const c = (prev + i) % n;
      if (allowed.includes(c) && this.idleCpu(c)) return c;
    }
    return prev;
  }

  /** available_idle_cpu(): running the idle task with nothing queued. */
  private idleCpu(c: number): boolean {
    const rq = this.cpus[c]!.rq;
    return rq.curr === null && rq.queued.length === 0;
  }

  /** A timeline entry: move tasks (taskset) and IRQs (smp_affinity_list) while running. */
  private onTimeline(i: number): void {
    const change = this.scenario.timeline[i]!;
    for (const a of change.apps) {
      const task = this.appTask[a.app];
      if (task) this.setAffinity(task, a.cpus);
    }
    for (const q of change.irqs) this.nics[q.nic]!.setIrqAffinity(q.queue, q.cpus);
  }

  /**
   * sched_setaffinity(): a sleeping task is placed within the new mask when it wakes; a queued
   * one moves now; the running one is preempted and moved by the stopper (migration/N), here a
   * reschedule IPI after which schedule() migrates it (see Cpu.schedule).
   */
  setAffinity(task: Task, cpus: number[]): void {
    task.allowed = cpus;
    if (task.state === 'sleeping' || cpus.includes(task.cpu)) return;
    if (task.group?.throttledTasks.includes(task)) {
      task.cpu = cpus[0]!; // off every run queue until unthrottled: placed then
      return;
    }
    const cpu = this.cpus[task.cpu]!;
    if (cpu.rq.curr === task) {
      this.resched(cpu, -1);
      return;
    }
    cpu.rq.remove(task);
    this.migrateTask(task);
  }

  /** move_queued_task(): enqueue a runnable task on a CPU it is allowed on. */
  migrateTask(task: Task): void {
    const target = this.selectTaskRq(task, task.allowed[0]!);
    const cpu = this.cpus[target]!;
    task.migrations++;
    task.cpu = target;
    task.migrated = true;
    task.waitStart = this.sim.now;
    if (task.group?.throttled) {
      task.group.throttledTasks.push(task);
      return;
    }
    this.updateCurr(cpu);
    cpu.rq.enqueue(task);
    if (cpu.rq.wouldPreempt(task)) this.resched(cpu, -1);
    else cpu.kick();
  }

  /** Start the machine: applications become runnable (as if just exec'd). */
  start(): void {
    for (const g of this.cgroups) g.periodTimer?.arm(g.periodNs);
    for (const t of this.appTasks) this.wakeUp(t, t.allowed[0]!);
    for (const cpu of this.cpus) cpu.kick();
  }
}
