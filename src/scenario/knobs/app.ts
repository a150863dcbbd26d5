import { ValueError } from '../errors.ts';
import { INT_MAX } from '../limits.ts';
import { parseRate } from '../units.ts';
import { appOption } from './kinds.ts';
import { bounded, choice, count, cpuList, flag } from './values.ts';
import { sint, text, uint } from './types.ts';

/** The app kinds that read a socket (pace their reads, busy poll it). */
const READERS = ['stream-reader', 'udp-sink', 'rr-server'];
/** The app kinds that can busy-poll: the socket readers and an AF_XDP reader (xsk_recvmsg → sk_busy_loop). */
const BUSY_POLLERS = [...READERS, 'af-xdp-reader'];
/** An AF_XDP reader's options. */
const XSK = ['af-xdp-reader'];

/**
 * Per-application settings: what the process asks of the kernel (its CPU affinity, its nice
 * value, how much each recvmsg asks for, how many datagrams per recvmmsg) and how fast it reads.
 * Which app kinds take which option is checked with the app (resolve.ts).
 */

export const cpus = appOption<string, number[]>('cpus', {
  where: 'taskset -c LIST <app> (sched_setaffinity; Cpus_allowed_list in /proc/<pid>/status)',
  command: 'taskset -c {value} {app}',
  ...cpuList('the CPU list', 'an empty CPU list (sched_setaffinity: EINVAL)'),
  defaultText: 'all CPUs',
  description: "CPUs the app's task may run on; the scheduler places it among them at each wake-up.",
  source: 'kernel/sched/core.c: sched_setaffinity',
  runtime: true,
});

export const nice = appOption<number, number>('nice', {
  where: 'nice -n N <app> (setpriority)',
  type: sint('nice', -20, 19),
  default: 0,
  range: '-20..19',
  check: (value) => {
    if (!Number.isInteger(value) || value < -20 || value > 19) throw new ValueError(`nice ${value} is outside -20..19 (MIN_NICE..MAX_NICE)`);
    return value;
  },
  description: 'Scheduling weight of the task (sched_prio_to_weight: 1024 at 0, about ×1.25 per step).',
  source: 'kernel/sched/core.c: set_user_nice',
  schemaDefault: true,
});

export const recvSize = appOption<number, number>('recv_size', {
  where: 'the length each recvmsg asks for (iperf3 -l)',
  ...count('recv_size', 1),
  unit: 'bytes',
  default: 131072,
  range: '>= 1',
  appKinds: ['stream-reader'],
  description: "stream-reader: bytes asked for per recvmsg (iperf3's 128 KiB).",
  source: 'net/ipv4/tcp.c: tcp_recvmsg',
});

const batchType = uint('batch', 1, 1024);
export const batch = appOption<number, number>('batch', {
  where: 'vlen of recvmmsg (1: plain recvmsg)',
  type: batchType,
  unit: 'datagrams',
  default: 1,
  defaultText: '1 (af-xdp-reader: 64, as xdpsock)',
  range: '1..1024',
  appKinds: ['udp-sink', 'af-xdp-reader'],
  check: (value) => {
    const n = batchType.check(value);
    // UIO_MAXIOV: do_recvmmsg takes at most 1024 messages per call.
    if (n > 1024) throw new ValueError(`batch ${n} is above 1024 (UIO_MAXIOV, the most recvmmsg takes)`);
    return n;
  },
  description: 'udp-sink: datagrams per recvmmsg (MSG_WAITFORONE); af-xdp-reader: frames taken from the RX ring and given back to the fill ring per pass (xdpsock --batch-size).',
  source: 'net/socket.c: do_recvmmsg',
});

export const rate = appOption<string, number>('rate', {
  where: 'how fast the app reads (a paced consumer)',
  type: text('bit rate'),
  unit: 'bit/s',
  defaultText: 'unpaced: reads as fast as it can',
  range: 'a bit rate: "2gbit", "800mbit"',
  appKinds: READERS,
  check: (value) => {
    const r = parseRate(value);
    if (r.kind !== 'bits') throw new ValueError(`"${value}": an application reads bytes, so give a bit rate like "2gbit" or "800mbit"`);
    return r.bitsPerSec;
  },
  read: () => Infinity,
  description: 'Read at most this fast: the app sleeps between reads, and data waits in the socket meanwhile.',
  source: 'net/ipv4/tcp.c: tcp_recvmsg',
});

const U16_MAX = 65535;

export const busyPoll = appOption<number, number>('busy_poll', {
  where: "setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usecs) on the app's sockets",
  // sk_setsockopt(SO_BUSY_POLL): val < 0 is EINVAL (an int, so at most INT_MAX).
  ...bounded('SO_BUSY_POLL', 0, INT_MAX, 'sk_setsockopt: EINVAL', 'SO_BUSY_POLL in µs'),
  unit: 'µs',
  defaultText: 'net.core.busy_read (sock_init_data)',
  appKinds: BUSY_POLLERS,
  read: () => -1,
  description: "sk_ll_usec: how long a read busy-polls the socket's NAPI before sleeping (-1 internally: the sysctl net.core.busy_read).",
  source: 'net/core/sock.c: sk_setsockopt',
});

export const preferBusyPoll = appOption<boolean, boolean>('prefer_busy_poll', {
  where: 'setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one)',
  ...flag('prefer_busy_poll'),
  appKinds: BUSY_POLLERS,
  description: 'sk_prefer_busy_poll: busy_poll_stop arms gro_flush_timeout instead of rescheduling the NAPI, so with napi_defer_hard_irqs the device interrupt stays masked while the app polls.',
  source: 'net/core/dev.c: busy_poll_stop',
});

export const busyPollBudget = appOption<number, number>('busy_poll_budget', {
  where: 'setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &n)',
  // sk_setsockopt(SO_BUSY_POLL_BUDGET): val < 0 || val > U16_MAX is EINVAL. 0 stays 0: sk_busy_loop
  // reads it as BUSY_POLL_BUDGET (busy-poll.ts).
  ...bounded('SO_BUSY_POLL_BUDGET', 0, U16_MAX, 'sk_setsockopt: EINVAL'),
  unit: 'packets',
  default: 0,
  defaultText: '0: BUSY_POLL_BUDGET (8)',
  appKinds: BUSY_POLLERS,
  description: 'Budget of each napi->poll a busy-polling read makes (0: BUSY_POLL_BUDGET, 8).',
  source: 'include/net/busy_poll.h: sk_busy_loop',
});

/** XDP_UMEM_MIN_CHUNK_SIZE (include/net/xdp_sock.h) and PAGE_SIZE: the chunk sizes xdp_umem_reg takes. */
const XDP_UMEM_MIN_CHUNK_SIZE = 2048;
const PAGE_SIZE = 4096;
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export const xskMode = appOption<'auto' | 'copy' | 'zerocopy', 'auto' | 'copy' | 'zerocopy'>('xsk_mode', {
  where: 'bind(fd, struct sockaddr_xdp{.sxdp_flags = XDP_COPY or XDP_ZEROCOPY}) (xdpsock -c / -z)',
  ...choice(['auto', 'copy', 'zerocopy']),
  default: 'auto',
  defaultText: 'auto: neither flag (zero-copy where the driver supports it, else copy)',
  appKinds: XSK,
  description:
    "AF_XDP mode: copy (XDP_COPY: __xsk_rcv copies each frame into a UMEM frame) or zero-copy (XDP_ZEROCOPY: the driver's RX ring is filled from the fill ring and frames land in the UMEM); XDP_ZEROCOPY on a driver without ndo_xsk_wakeup fails the bind with EOPNOTSUPP.",
  source: 'net/xdp/xsk_buff_pool.c: xp_assign_dev',
});

export const needWakeup = appOption<boolean, boolean>('need_wakeup', {
  where: 'bind(… sxdp_flags |= XDP_USE_NEED_WAKEUP) (xdpsock: on unless -m/--no-need-wakeup)',
  ...flag('XDP_USE_NEED_WAKEUP', true),
  appKinds: XSK,
  description:
    "Zero-copy: the driver sets the fill ring's XDP_RING_NEED_WAKEUP flag when it ran out of buffers (or its ring is empty) and completes its NAPI; the app must then recvfrom()/poll() (ndo_xsk_wakeup) to have it polled again. Without it the driver keeps its NAPI polling while the fill ring is empty, and the app never makes a system call.",
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_xsk.c: ixgbe_clean_rx_irq_zc',
});

export const umemFrames = appOption<number, number>('umem_frames', {
  where: 'setsockopt(fd, SOL_XDP, XDP_UMEM_REG, {.len = frames × frame_size}) (xdpsock NUM_FRAMES)',
  ...count('UMEM frames', 1),
  unit: 'frames',
  default: 4096,
  range: '>= 1',
  appKinds: XSK,
  description: 'Frames in the UMEM: the app fills the fill ring with as many as it holds at start (xsk_populate_fill_ring) and gives each frame back after reading it.',
  source: 'net/xdp/xdp_umem.c: xdp_umem_reg',
});

const frameSizeType = uint('chunk_size', XDP_UMEM_MIN_CHUNK_SIZE, PAGE_SIZE);
export const frameSize = appOption<number, number>('frame_size', {
  where: 'XDP_UMEM_REG .chunk_size (xdpsock -f; XSK_UMEM__DEFAULT_FRAME_SIZE)',
  type: frameSizeType,
  unit: 'bytes',
  default: 4096,
  range: '2048..4096, a power of two',
  appKinds: XSK,
  check: (value) => {
    // xdp_umem_reg(): chunk_size < XDP_UMEM_MIN_CHUNK_SIZE || chunk_size > PAGE_SIZE, or not a power of two in aligned mode: EINVAL.
    if (!Number.isSafeInteger(value) || value < XDP_UMEM_MIN_CHUNK_SIZE || value > PAGE_SIZE || !isPow2(value))
      throw new ValueError(`chunk_size ${value} is not a power of two in ${XDP_UMEM_MIN_CHUNK_SIZE}..${PAGE_SIZE} (xdp_umem_reg: EINVAL)`);
    return value;
  },
  description: 'UMEM chunk size: the largest frame one UMEM frame holds (a longer frame is dropped as rx_dropped by xsk_rcv_check).',
  source: 'net/xdp/xdp_umem.c: xdp_umem_reg',
});

function ringKnob(name: 'fill_ring' | 'rx_ring', opt: string, deflt: string, what: string) {
  const t = uint(`${opt} entries`, 1);
  return appOption<number, number>(name, {
    where: `setsockopt(fd, SOL_XDP, ${opt}, &entries) (${deflt})`,
    type: t,
    unit: 'entries',
    default: 2048,
    range: 'a power of two',
    appKinds: XSK,
    check: (value) => {
      // xsk_init_queue(): entries == 0 or not a power of two is EINVAL.
      if (!Number.isSafeInteger(value) || !isPow2(value)) throw new ValueError(`${opt} ${value} is not a power of two (xsk_init_queue: EINVAL)`);
      return value;
    },
    description: what,
    source: 'net/xdp/xsk.c: xsk_init_queue',
  });
}

export const fillRing = ringKnob('fill_ring', 'XDP_UMEM_FILL_RING', 'XSK_RING_PROD__DEFAULT_NUM_DESCS', 'Entries of the fill ring: UMEM frames the app hands the kernel to receive into.');
export const rxRing = ringKnob(
  'rx_ring',
  'XDP_RX_RING',
  'XSK_RING_CONS__DEFAULT_NUM_DESCS',
  'Entries of the RX ring: received frames waiting for the app; a full ring drops (rx_ring_full), or in zero-copy with need_wakeup stops the driver, the frame left in the NIC ring (rx_ring_full once per poll).',
);

export const xskPoll = appOption<boolean, boolean>('xsk_poll', {
  where: 'xdpsock -p: poll(2) on the socket before each pass, instead of spinning on the RX ring',
  ...flag('poll'),
  appKinds: XSK,
  description:
    'The app sleeps in poll() (xsk_poll) until the RX ring has frames (sock_def_readable from xsk_flush wakes it) instead of a busy loop on the ring in user space. xsk_poll wakes a zero-copy driver that set need_wakeup; poll() busy-polls the NAPI first only with net.core.busy_poll set and busy_poll on the socket.',
  source: 'net/xdp/xsk.c: xsk_poll',
});

/** An AF_XDP reader's socket options. */
export const XSK_KNOBS = [xskMode, needWakeup, umemFrames, frameSize, fillRing, rxRing, xskPoll];

/** The app kinds whose wait for data can be an epoll_wait (they read whole datagrams in a loop). */
const EVENT_LOOPS = ['udp-sink', 'rr-server'];

export const epoll = appOption<boolean, boolean>('epoll', {
  where: 'the app waits in epoll_wait(2) on its sockets (an event loop, as memcached or nginx) instead of a blocking recvmsg or select',
  ...flag('epoll'),
  appKinds: EVENT_LOOPS,
  description: "An epoll instance holds the app's sockets (level-triggered EPOLLIN) and ep_poll busy-polls the NAPI its sockets' data came from before it sleeps.",
  source: 'fs/eventpoll.c: ep_poll',
});

export const epollBusyPollUsecs = appOption<number, number>('epoll_busy_poll_usecs', {
  where: 'ioctl(epfd, EPIOCSPARAMS, {.busy_poll_usecs = N}) (6.9+)',
  // ep_eventpoll_bp_ioctl: busy_poll_usecs > S32_MAX is EINVAL.
  ...bounded('busy_poll_usecs', 0, INT_MAX, 'EPIOCSPARAMS: EINVAL'),
  unit: 'µs',
  default: 0,
  defaultText: '0: net.core.busy_poll',
  appKinds: EVENT_LOOPS,
  description: 'How long ep_busy_loop polls before epoll_wait sleeps (busy_loop_ep_timeout; 0: net.core.busy_poll, and with that 0 too one pass). Needs epoll.',
  source: 'fs/eventpoll.c: busy_loop_ep_timeout',
});

export const epollBusyPollBudget = appOption<number, number>('epoll_busy_poll_budget', {
  where: 'ioctl(epfd, EPIOCSPARAMS, {.busy_poll_budget = N}) (6.9+)',
  // struct epoll_params: __u16 busy_poll_budget; above NAPI_POLL_WEIGHT it needs CAP_NET_ADMIN (EPERM).
  ...bounded('busy_poll_budget', 0, U16_MAX, 'a __u16 in struct epoll_params'),
  range: '0..65535 (above 64 with CAP_NET_ADMIN, which rxsim apps have)',
  unit: 'packets',
  default: 0,
  defaultText: '0: BUSY_POLL_BUDGET (8)',
  appKinds: EVENT_LOOPS,
  description: 'Budget of each napi->poll of ep_busy_loop (0: BUSY_POLL_BUDGET, 8). Needs epoll.',
  source: 'fs/eventpoll.c: ep_busy_loop',
});

export const epollPreferBusyPoll = appOption<boolean, boolean>('epoll_prefer_busy_poll', {
  where: 'ioctl(epfd, EPIOCSPARAMS, {.prefer_busy_poll = 1}) (6.9+)',
  ...flag('prefer_busy_poll'),
  appKinds: EVENT_LOOPS,
  description:
    "ep_busy_loop polls with NAPI_F_PREFER_BUSY_POLL, ep_poll suspends the NAPI's IRQs for irq_suspend_timeout while it returns events (napi_suspend_irqs) and resumes them when busy polling found none (napi_resume_irqs). Turns busy polling on by itself. Needs epoll.",
  source: 'fs/eventpoll.c: ep_suspend_napi_irqs',
});

/** The EPIOCSPARAMS fields: only with `epoll` (an ioctl on an epoll fd). */
export const EPOLL_PARAMS = [epollBusyPollUsecs, epollBusyPollBudget, epollPreferBusyPoll];

export const APP_KNOBS = [cpus, nice, recvSize, batch, rate, busyPoll, preferBusyPoll, busyPollBudget, epoll, ...EPOLL_PARAMS, ...XSK_KNOBS];
