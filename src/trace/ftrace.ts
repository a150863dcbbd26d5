import { EV, isNapiPoll, type TraceEvent } from './buffer.ts';
import { XDP_ACTION_NAMES } from '../model/xdp.ts';
import { comm, initialCurrent, irqOf, napiDev, softirqName } from './names.ts';
import type { TraceRecorder } from './recorder.ts';

/**
 * ftrace-like text, as `cat /sys/kernel/tracing/trace` prints it with the irq, napi, net and
 * sched events enabled: the running task, CPU, timestamp in seconds and each tracepoint's own
 * format (include/trace/events/{irq,napi,net,sched}.h).
 */
/** prio of a nice-0 SCHED_OTHER task as sched events print it. */
const PRIO = 120;

function pad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** A stable fake kernel address for a NAPI struct or skb (traces print pointers hashed). */
function addr(n: number): string {
  return (0xffff888100000000n + BigInt(n) * 0x40n).toString(16).padStart(16, '0');
}

/** The tracepoint line of one event (`irq_handler_entry: irq=132 name=…`), or null if it prints none. */
export function describeEvent(rec: TraceRecorder, e: TraceEvent, skb = 0): string | null {
  const { type, cpu, a, b, c } = e;
  switch (type) {
    case EV.IRQ_ENTRY: {
      const { irq, name } = irqOf(rec, a);
      return `irq_handler_entry: irq=${irq} name=${name}`;
    }
    case EV.IRQ_EXIT:
      return `irq_handler_exit: irq=${irqOf(rec, a).irq} ret=handled`;
    case EV.SOFTIRQ_RAISE:
      return `softirq_raise: vec=${a} [action=${softirqName(a)}]`;
    case EV.SOFTIRQ_ENTRY:
      return `softirq_entry: vec=${a} [action=${softirqName(a)}]`;
    case EV.SOFTIRQ_EXIT:
      return `softirq_exit: vec=${a} [action=${softirqName(a)}]`;
    case EV.NAPI_POLL:
    case EV.BUSY_POLL:
    case EV.EP_BUSY_POLL:
      return `napi_poll: napi poll on napi struct ${addr(a + 4096)} for device ${napiDev(rec, a)} work ${b} budget ${c}`;
    case EV.NETIF_RECEIVE_SKB:
      return `netif_receive_skb: dev=${rec.devs[c] ?? '?'} skbaddr=${addr((1 << 20) | (skb & 0xffff))} len=${a}`;
    case EV.SCHED_WAKEUP:
      return `sched_wakeup: comm=${comm(rec, a, cpu)} pid=${a} prio=${PRIO} target_cpu=${String(cpu).padStart(3, '0')}`;
    case EV.SCHED_SWITCH:
      return `sched_switch: prev_comm=${comm(rec, a, cpu)} prev_pid=${a < 0 ? 0 : a} prev_prio=${PRIO} prev_state=${a < 0 ? 'R' : c === 0 ? 'R+' : 'S'} ==> next_comm=${comm(rec, b, cpu)} next_pid=${b < 0 ? 0 : b} next_prio=${PRIO}`;
    case EV.XDP_EXCEPTION:
      // include/trace/events/xdp.h: TP_printk("prog_id=%d action=%s ifindex=%d")
      return `xdp_exception: prog_id=1 action=${XDP_ACTION_NAMES[a] ?? a} ifindex=${c + 2}`;
    case EV.XDP_CPUMAP_ENQUEUE:
      // include/trace/events/xdp.h: TP_printk("enqueue cpu=%d map_id=%d action=%s processed=%u drops=%u to_cpu=%d")
      return `xdp_cpumap_enqueue: enqueue cpu=${cpu} map_id=${c >> 16} action=XDP_REDIRECT processed=${a} drops=${b} to_cpu=${c & 0xffff}`;
    case EV.XDP_CPUMAP_KTHREAD:
      // TP_printk("kthread cpu=%d map_id=%d action=%s processed=%u drops=%u sched=%d xdp_pass=%u xdp_drop=%u xdp_redirect=%u"): no program on the entry
      return `xdp_cpumap_kthread: kthread cpu=${cpu} map_id=${c >> 16} action=XDP_REDIRECT processed=${a} drops=${b} sched=${c & 0xffff} xdp_pass=0 xdp_drop=0 xdp_redirect=0`;
    case EV.XDP_DEVMAP_XMIT:
      // TP_printk("ndo_xdp_xmit from_ifindex=%d to_ifindex=%d action=%s sent=%d drops=%d err=%d"); ifindex = device index + 2 as above.
      // err is 0: ixgbe_xdp_xmit / ice_xdp_xmit return the frames sent, and a device without XDP rings (-ENXIO) never gets here (__xdp_enqueue refused its frames).
      return `xdp_devmap_xmit: ndo_xdp_xmit from_ifindex=${(c >> 16) + 2} to_ifindex=${(c & 0xffff) + 2} action=XDP_REDIRECT sent=${a} drops=${b} err=0`;
    case EV.XDP_REDIRECT_XSK:
    case EV.XDP_REDIRECT_XSK_ZC:
      // include/trace/events/xdp.h (xdp_redirect_template): TP_printk("prog_id=%d action=%s ifindex=%d to_ifindex=%d err=%d map_type=%s map_id=%d map_index=%d");
      // an xskmap target has no ifindex (0); a failed redirect is xdp_redirect_err.
      return `${a < 0 ? 'xdp_redirect_err' : 'xdp_redirect'}: prog_id=1 action=XDP_REDIRECT ifindex=${(c & 0xffff) + 2} to_ifindex=0 err=${a} map_type=XSKMAP map_id=${c >> 16} map_index=${b}`;
    case EV.XDP_RUN: {
      // Not a tracepoint: what the program returned for the frames of one poll (or one skb).
      const n = (shift: number) => (b >> shift) & 0x7f;
      const aborted = a - n(0) - n(7) - n(14) - n(21);
      return `bpf_prog_run_xdp: dev=${rec.devs[c & 0x3ff] ?? '?'} rxq=${(c >> 10) & 0x3ff}${c >> 20 ? ' generic' : ''} frames=${a} XDP_DROP=${n(0)} XDP_PASS=${n(7)} XDP_TX=${n(14)} XDP_REDIRECT=${n(21)} XDP_ABORTED=${aborted}`;
    }
    case EV.XDP_REDIRECT: {
      // include/trace/events/xdp.h, xdp_redirect_template (as for the xskmap above); to_ifindex is
      // a devmap target's (0 for a cpumap); ifindex = device index + 2 as above.
      const to = (c >> 10) & 0x3ff;
      return `${b === 0 ? 'xdp_redirect' : 'xdp_redirect_err'}: prog_id=1 action=XDP_REDIRECT ifindex=${(c & 0x3ff) + 2} to_ifindex=${to === 0 ? 0 : to + 1} err=${b} map_type=${to === 0 ? 'CPUMAP' : 'DEVMAP'} map_id=${c >>> 21} map_index=${a}`;
    }
    case EV.IPI_SEND:
      return `ipi_send_cpu: cpu=${a} callsite=net_rps_send_ipi callback=rps_trigger_softirq`;
    default:
      return null;
  }
}

/** The context a CPU is in while its lines are printed: in a hardirq, serving softirqs, or neither. */
const CTX_TASK = 0;
const CTX_SOFT = 1;
const CTX_HARD = 2;

/** irqs-off / need-resched / hardirq-softirq / preempt-depth flags of a line, from its context. */
function flagsOf(type: number, ctx: number): string {
  if (type === EV.SCHED_SWITCH || type === EV.SCHED_WAKEUP) return 'd..2.';
  if (type === EV.IRQ_ENTRY || type === EV.IRQ_EXIT || ctx === CTX_HARD) return 'd.h1.';
  if (type === EV.SOFTIRQ_RAISE || type === EV.IPI_SEND) return ctx === CTX_SOFT ? 'd.s1.' : 'd..1.';
  return '..s1.';
}

/** When an event's line is printed: napi_poll fires at the end of the poll. */
export function printTime(b: TraceRecorder['buf'], s: number): number {
  return isNapiPoll(b.type[s]!) ? b.t[s]! + b.dur[s]! : b.t[s]!;
}

export function toFtrace(rec: TraceRecorder): string {
  const b = rec.buf;
  const lines: string[] = [];
  const curr = initialCurrent(rec);
  // Each CPU's context from the entry/exit events: a hardirq may nest over softirq processing.
  const soft = new Uint8Array(rec.machine.cpus);
  const hard = new Uint8Array(rec.machine.cpus);
  let skb = 0;
  for (const e of b.events((s) => printTime(b, s))) {
    if (e.type === EV.IRQ_ENTRY) hard[e.cpu] = 1;
    else if (e.type === EV.SOFTIRQ_ENTRY) soft[e.cpu] = 1;
    else if (e.type === EV.SOFTIRQ_EXIT) soft[e.cpu] = 0;
    const ctx = hard[e.cpu] ? CTX_HARD : soft[e.cpu] ? CTX_SOFT : CTX_TASK;
    if (e.type === EV.IRQ_EXIT) hard[e.cpu] = 0;
    // Lines without a tracepoint (bpf_prog_run_xdp) are step mode's, not a trace's.
    if (e.type === EV.XDP_RUN) continue;
    const text = describeEvent(rec, e, e.type === EV.NETIF_RECEIVE_SKB ? skb++ : 0);
    if (text === null) continue;
    const task = `${comm(rec, curr[e.cpu]!, e.cpu)}-${curr[e.cpu]! < 0 ? 0 : curr[e.cpu]!}`;
    lines.push(`${pad(task, 22)} [${String(e.cpu).padStart(3, '0')}] ${flagsOf(e.type, ctx)} ${pad((printTime(b, e.slot) / 1e9).toFixed(6), 12)}: ${text}`);
    if (e.type === EV.SCHED_SWITCH) curr[e.cpu] = e.b;
  }
  const header = [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${lines.length}/${lines.length + b.overwritten}   #P:${rec.machine.cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ];
  return header.concat(lines).join('\n') + '\n';
}
