import { describe, expect, it } from 'vitest';
import { NIL, PacketPool } from '../../src/model/packet.ts';
import { FlowLimit, getRpsCpu, hash32, RpsDevFlowTable, RpsSockFlowTable } from '../../src/model/rps.ts';
import { frameTruesize, Socket, tcpAckSndCheck, tcpDataQueue, TcpReceiver, tcpReleaseCb, tcpSelectWindowNow, tcpSendAck, udpEnqueue } from '../../src/model/socket.ts';
import { kernel, run } from '../helpers.ts';

describe('get_rps_cpu', () => {
  const heads = (h: Record<number, number>) => (cpu: number) => h[cpu] ?? 0;

  it('RPS: map[reciprocal_scale(hash, len)]; no map and no flow table: no steering', () => {
    expect(getRpsCpu({ map: [4, 5, 6, 7], flows: null }, null, 0x80000000, heads({})).cpu).toBe(6);
    expect(getRpsCpu({ map: [4, 5, 6, 7], flows: null }, null, 0x3fffffff, heads({})).cpu).toBe(4);
    expect(getRpsCpu({ map: [], flows: null }, null, 0x1234, heads({})).cpu).toBe(-1);
  });

  it('a zero hash is not steered', () => {
    expect(getRpsCpu({ map: [1, 2], flows: null }, null, 0, heads({})).cpu).toBe(-1);
  });

  it('RFS follows the CPU the reader recorded, but moves a flow only once its old CPU consumed what was queued before', () => {
    const sock = new RpsSockFlowTable(32768, 4);
    const flows = new RpsDevFlowTable(4096);
    const q = { map: [0, 1, 2, 3], flows };
    const hash = 0xabc00001;
    sock.record(hash, 2); // the reader runs on CPU 2
    let c = getRpsCpu(q, sock, hash, heads({ 2: 100 }));
    expect(c.cpu).toBe(2);
    const slot = c.slot;
    expect(flows.cpu[slot]).toBe(2);
    expect(flows.lastQtail[slot]).toBe(100); // set_rps_cpu: last_qtail from the new CPU's head
    flows.lastQtail[slot] = 150; // packets enqueued on CPU 2 up to tail 150
    sock.record(hash, 3); // the reader moves to CPU 3
    c = getRpsCpu(q, sock, hash, heads({ 2: 120, 3: 0 }));
    expect(c.cpu).toBe(2); // CPU 2 has consumed up to 120 < 150: stay, to keep order
    c = getRpsCpu(q, sock, hash, heads({ 2: 150, 3: 7 }));
    expect(c.cpu).toBe(3); // everything queued before is consumed: move
    expect(flows.lastQtail[c.slot]).toBe(7);
  });

  it('without a matching socket entry RFS falls back to RPS', () => {
    const sock = new RpsSockFlowTable(64, 4);
    const q = { map: [1], flows: new RpsDevFlowTable(64) };
    expect(getRpsCpu(q, sock, 0x1234, heads({})).cpu).toBe(1);
  });

  it('hash_32 is the golden-ratio hash', () => {
    expect(hash32(1, 12)).toBe((Math.imul(1, 0x61c88647) >>> 0) >>> 20);
  });
});

describe('flow limit (skb_flow_limit)', () => {
  it('drops a flow holding more than 64 of the last 128 packets, and spares the others', () => {
    const fl = new FlowLimit(4096);
    let bigDrops = 0;
    let smallDrops = 0;
    for (let i = 0; i < 1000; i++) {
      if (fl.limit(0x1111)) bigDrops++;
      if (i % 10 === 0 && fl.limit(0x2222 + i)) smallDrops++;
    }
    expect(bigDrops).toBeGreaterThan(400);
    expect(smallDrops).toBe(0);
    expect(fl.count).toBe(bigDrops);
  });

  it('applies only when the target backlog is half full, on CPUs in flow_limit_cpu_bitmap', () => {
    const { result } = run({
      duration_ms: 10,
      warmup_ms: 2,
      cpus: 4,
      nics: [{ name: 'eth0', channels: { combined: 1 }, queues: { 'rx-0': { rps_cpus: '2' } } }],
      sysctl: { 'net.core.netdev_max_backlog': 200, 'net.core.flow_limit_cpu_bitmap': '1' },
      flows: [
        { name: 'elephant', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '4mpps', size: 64 },
        { name: 'mouse', proto: 'udp', src: '10.0.0.3:1', dst: '10.0.0.2:10', rate: '100kpps', size: 64 },
      ],
      // The mouse has a reader, so any packet of it lost on the way counts as dropped; the elephant's
      // port is closed (its survivors end as UdpNoPorts).
      apps: [{ name: 'mouse-sink', kind: 'udp-sink', listen: '10.0.0.2:10', cpus: '3' }],
    });
    expect(result.packets.dropped.flow_limit).toBeGreaterThan(1000);
    expect(result.flows[1]!.dropped).toBe(0);
    const col11 = result.proc.softnet_stat.split('\n').map((l) => parseInt(l.split(' ')[10] ?? '0', 16));
    expect(col11[0]).toBeGreaterThan(1000); // counted on the enqueuing CPU's table
    expect(col11[1]).toBe(0);
  });
});

describe('RPS IPIs', () => {
  it('one IPI per remote CPU per net_rx_action batch, only when its backlog goes idle → scheduled', () => {
    const k = kernel({
      duration_ms: 2,
      cpus: 4,
      nics: [{ name: 'eth0', channels: { combined: 1 }, queues: { 'rx-0': { rps_cpus: 'e' } }, coalesce: { 'rx-usecs': 100 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: '300kpps', size: 64 }],
      apply: ['ethtool -N eth0 rx-flow-hash udp4 sdfn'],
    });
    const perBatch: number[][] = [];
    k.trace = {
      irqRaise() {},
      irqEntry() {},
      softirqFrame() {},
      softirqEntry: (cpu) => cpu === 0 && perBatch.push([]),
      softirqExit() {},
      napiPoll() {},
      sched() {},
      wakeup() {},
    };
    k.start();
    k.sim.runUntil(2_000_000);
    const sent = k.softnet[0]!.ipiSent;
    const received = k.softnet.slice(1).reduce((a, sd) => a + sd.receivedRps, 0);
    expect(sent).toBeGreaterThan(0);
    expect(received).toBe(sent);
    // Each interrupt (every 100 us) brings ~30 packets spread over CPUs 1-3: at most 3 IPIs per NET_RX run.
    const nrx = k.softirq.counts[3]![0]!;
    expect(sent).toBeLessThanOrEqual(3 * nrx);
  });
});

describe('socket receive', () => {
  const pool = new PacketPool(256);
  const skb = (seq: number, len = 1448) => {
    const r = pool.alloc();
    pool.seq[r] = seq;
    pool.payload[r] = pool.len[r] = len;
    pool.truesize[r] = frameTruesize(len + 70);
    pool.frag[r] = NIL;
    return r;
  };
  const acks: { ack: number; win: number; hole: boolean }[] = [];
  const tcpSocket = (rcvbuf: number) => new Socket(0, 'tcp', 0, rcvbuf, 1 << 22, new TcpReceiver({ ack: (_t, ack, win, sack) => acks.push({ ack, win, hole: sack !== null }) }, 1448, 20000), pool);

  it('UDP: drops when rmem already exceeds rcvbuf (RcvbufErrors), not before', () => {
    const s = new Socket(0, 'udp', 0, 5000, 5000, null, pool);
    const v = [0, 1, 2, 3].map(() => udpEnqueue(s, pool, skb(0, 100), 0));
    // truesize 2304 (a 2 KB buffer + the sk_buff): after three skbs rmem = 6912 > rcvbuf = 5000,
    // so the fourth is dropped; the third was admitted at rmem 4608.
    expect(frameTruesize(170)).toBe(2048 + 256);
    expect(v).toEqual(['queued', 'queued', 'queued', 'dropped']);
    expect(s.counters.rcvbufErrors).toBe(1);
    expect(s.drops).toBe(1);
  });

  it('TCP: below tcp_rmem[2] a full buffer grows to what is allocated (tcp_clamp_window): nothing is dropped', () => {
    const s = new Socket(0, 'tcp', 0, 3000, 1 << 22, new TcpReceiver({ ack: () => {} }, 1448, 20000), pool);
    const v = [0, 1, 2, 3].map((i) => tcpDataQueue(s, pool, skb(i * 1448), 0, () => {}));
    expect(v).toEqual(['queued', 'queued', 'queued', 'queued']);
    // tcp_can_ingest (6.18.y: rmem <= rcvbuf): the first and second fit without pruning (rmem
    // 0 and 2304 <= 3000 before them); the third and fourth prune, and tcp_clamp_window raises
    // rcvbuf to what is allocated.
    expect(s.rcvbuf).toBe(3 * frameTruesize(1518));
    expect(s.counters.pruneCalled).toBe(2);
    expect(s.counters.rcvQDrop).toBe(0);
  });

  it('tcp_select_window: the offered window never shrinks (tcp_shrink_window = 0); with 1 it does; a drop for memory advertises zero (ICSK_ACK_NOMEM)', () => {
    const ack = (shrink: boolean) => {
      const wins: number[] = [];
      const tcp = new TcpReceiver({ ack: (_t, _a, win) => wins.push(win) }, 1448, 20000);
      tcp.shrinkWindow = shrink;
      const s = new Socket(0, 'tcp', 0, 40_000, 40_000, tcp, pool);
      tcpSendAck(s, 0, 0); // the first window: the whole (empty) buffer
      // Ten 100-byte segments arrive and are queued unread, each holding a 2 KB buffer: the
      // window the free space allows (scaled by len/truesize) is now far below what the last
      // ACK promised beyond rcv_nxt.
      for (let i = 0; i < 10; i++) tcpDataQueue(s, pool, skb(i * 100, 100), 0, () => {});
      tcpSendAck(s, 0, 0);
      return { wins, s };
    };
    const kept = ack(false);
    const [first, second] = kept.wins;
    expect(second).toBe(first! - 10 * 100); // the right edge stays where it was
    expect(tcpSelectWindowNow(kept.s)).toBeLessThan(second!);
    const shrunk = ack(true);
    expect(shrunk.wins[1]).toBe(tcpSelectWindowNow(shrunk.s));
    expect(shrunk.wins[1]).toBeLessThan(second!);
    // At tcp_rmem[2] with data queued, an in-sequence skb that does not fit is dropped and the
    // ACK that follows offers a zero window, whatever was promised.
    const wins: number[] = [];
    const tcp = new TcpReceiver({ ack: (_t, _a, win) => wins.push(win) }, 1448, 20000);
    const full = new Socket(0, 'tcp', 0, 3000, 3000, tcp, pool);
    tcpSendAck(full, 0, 0);
    const v = [0, 1, 2].map((i) => tcpDataQueue(full, pool, skb(i * 1448), 0, () => {}));
    expect(v[2]).toBe('dropped');
    tcpSendAck(full, 0, 0);
    expect(wins.at(-1)).toBe(0);
  });

  it('TCP: at tcp_rmem[2] an in-sequence skb is admitted while rmem <= rcvbuf, else dropped if the queue is non-empty (TCPRcvQDrop)', () => {
    const s = new Socket(0, 'tcp', 0, 3000, 3000, new TcpReceiver({ ack: () => {} }, 1448, 20000), pool);
    const v = [0, 1, 2].map((i) => tcpDataQueue(s, pool, skb(i * 1448), 0, () => {}));
    // rmem 0 → fits; rmem 2304 <= 3000 → admitted over the limit; rmem 4608: collapsing full
    // segments saves nothing (a page holds 2.6 of them), so the third is dropped.
    expect(v).toEqual(['queued', 'queued', 'dropped']);
    expect(s.counters.rcvQDrop).toBe(1);
    expect(s.counters.rcvPruned).toBe(1);
    expect(s.tcp!.rcvNxt).toBe(2 * 1448);
    // An empty queue always takes the next in-sequence skb (sk_forced_mem_schedule).
    const e = new Socket(0, 'tcp', 0, 100, 100, new TcpReceiver({ ack: () => {} }, 1448, 20000), pool);
    expect(tcpDataQueue(e, pool, skb(0), 0, () => {})).toBe('queued');
  });

  it('TCP: at tcp_rmem[2], tcp_collapse packs small skbs into pages to make room before dropping', () => {
    const s = new Socket(0, 'tcp', 0, 6000, 6000, new TcpReceiver({ ack: () => {} }, 1448, 20000), pool);
    // 100-byte segments each hold 2304 bytes of truesize. The third is admitted over the limit;
    // the fourth finds rmem 6912 > 6000: the three collapse into one page (4352). The fifth
    // finds 6656: the fourth collapses on its own (a page is no gain: 2304 < 4352), so only
    // the collapse already done counts, and rmem 6656 > 6000 means RcvPruned and a drop.
    const v = [0, 1, 2, 3, 4].map((i) => tcpDataQueue(s, pool, skb(i * 100, 100), 0, () => {}));
    expect(v).toEqual(['queued', 'queued', 'queued', 'queued', 'dropped']);
    expect(s.counters.collapsed).toBe(3);
    expect(s.counters.collapsedBytes).toBe(300);
    expect(s.rmem).toBe(4352 + frameTruesize(170));
    expect(s.counters.rcvQDrop).toBe(1);
  });

  it('TCP: out-of-order data waits in the OFO queue and is pulled in when the hole fills; duplicates are discarded', () => {
    const s = tcpSocket(1 << 20);
    acks.length = 0;
    tcpDataQueue(s, pool, skb(0), 0, () => {});
    expect(tcpDataQueue(s, pool, skb(2 * 1448), 0, () => {})).toBe('ofo');
    expect(tcpAckSndCheck(s, 0, true, 0)).toBe(true);
    expect(acks.at(-1)).toMatchObject({ ack: 1448, hole: true }); // a duplicate ACK reporting the hole
    expect(tcpDataQueue(s, pool, skb(1448), 0, () => {})).toBe('queued');
    expect(s.tcp!.rcvNxt).toBe(3 * 1448);
    expect(s.queue.length).toBe(3);
    expect(tcpDataQueue(s, pool, skb(0), 0, () => {})).toBe('dup');
  });

  it('tcp_release_cb sends a deferred duplicate ACK (with SACK) for out-of-order data, although rcv_nxt did not move', () => {
    const s = tcpSocket(1 << 20);
    tcpDataQueue(s, pool, skb(0), 0, () => {});
    tcpSendAck(s, 0, 0);
    acks.length = 0;
    s.owned = true;
    expect(tcpDataQueue(s, pool, skb(2 * 1448), 0, () => {})).toBe('ofo');
    expect(tcpAckSndCheck(s, 0, true, 0)).toBe(false); // deferred while owned
    expect(tcpReleaseCb(s, 0, 0)).toBe(true);
    expect(acks).toEqual([{ ack: 1448, win: s.tcp!.lastWindow, hole: true }]);
  });

  it('TCP: a new connection ACKs its first 16 segments at once (quickack), then every second full segment once rcv_ssthresh has reached window_clamp', () => {
    const s = tcpSocket(1 << 20);
    s.tcp!.rcvSsthresh = 1 << 30; // grown already
    const sent = Array.from({ length: 20 }, (_, i) => {
      tcpDataQueue(s, pool, skb(i * 1448), 0, () => {});
      s.tcp!.copiedSeq = s.tcp!.rcvNxt; // a reader that keeps up
      return tcpAckSndCheck(s, 0, false, 0);
    });
    expect(sent.slice(0, 16)).toEqual(Array(16).fill(true));
    expect(sent.slice(16)).toEqual([false, true, false, true]);
  });

  it('TCP: while tcp_grow_window raises rcv_ssthresh, every in-order segment is ACKed at once (quick |= 1)', () => {
    const s = tcpSocket(1 << 20);
    const sent = Array.from({ length: 40 }, (_, i) => {
      tcpDataQueue(s, pool, skb(i * 1448), 0, () => {});
      return tcpAckSndCheck(s, 0, false, 0);
    });
    expect(sent).toEqual(Array(40).fill(true));
    expect(s.tcp!.rcvSsthresh).toBe(65535 + 40 * 2 * 1448);
  });

  it('TCP: a reader that fell behind (the window would shrink) gets no ACK per two segments; the delayed ACK or its reads send them', () => {
    const ratio = Math.floor((1448 * 256) / frameTruesize(1518)); // sk_scaling_ratio of these skbs
    const s = tcpSocket(200_000);
    s.tcp!.rcvSsthresh = 1 << 30;
    s.tcp!.quick = 0;
    s.scalingRatio = ratio;
    tcpSendAck(s, 0, 0); // advertise the whole free buffer
    const sent = Array.from({ length: 6 }, (_, i) => {
      tcpDataQueue(s, pool, skb(i * 1448), 0, () => {});
      return tcpAckSndCheck(s, 0, false, 0);
    });
    // Nothing read (rcv_nxt - copied_seq >= rcvlowat) and less free space than rcv_wnd promised.
    expect(sent).toEqual(Array(6).fill(false));
    // Had the reader kept up (copied_seq = rcv_nxt), the second segment would have been ACKed.
    const t = tcpSocket(200_000);
    t.tcp!.rcvSsthresh = 1 << 30;
    t.tcp!.quick = 0;
    t.scalingRatio = ratio;
    tcpSendAck(t, 0, 0);
    const kept = Array.from({ length: 2 }, (_, i) => {
      tcpDataQueue(t, pool, skb(i * 1448), 0, () => {});
      t.tcp!.copiedSeq = t.tcp!.rcvNxt;
      return tcpAckSndCheck(t, 0, false, 0);
    });
    expect(kept).toEqual([false, true]);
  });

  it('TCP: out-of-order data grows rcv_ssthresh too (tcp_data_queue_ofo, SACK): while it grows, each SACK goes at once', () => {
    const s = tcpSocket(1 << 20);
    s.tcp!.quick = 0;
    const before = s.tcp!.rcvSsthresh;
    const sent = Array.from({ length: 6 }, (_, i) => {
      tcpDataQueue(s, pool, skb((i + 1) * 1448), 0, () => {}); // a hole at 0
      return tcpAckSndCheck(s, 0, false, 0);
    });
    expect(s.tcp!.rcvSsthresh).toBe(before + 6 * 2 * 1448);
    expect(sent).toEqual(Array(6).fill(true));
  });

  it('TCP: with out-of-order data queued, the first three SACKs per rcv_nxt go at once, then they are compressed (timer 5 % of the RTT) and counted TCPAckCompressed when an ACK covers them', () => {
    const s = tcpSocket(1 << 20);
    s.tcp!.rcvSsthresh = 1 << 30;
    s.tcp!.quick = 0;
    const timers: number[] = [];
    s.tcp!.compress = (at) => timers.push(at);
    const mib = { TcpExtTCPAckCompressed: 0 };
    s.tcp!.mib = mib;
    const sent = Array.from({ length: 6 }, (_, i) => {
      tcpDataQueue(s, pool, skb((i + 1) * 1448), 0, () => {}); // a hole at 0
      return tcpAckSndCheck(s, 0, false, 0);
    });
    expect(sent).toEqual([true, true, true, false, false, false]);
    expect(timers).toEqual([Math.min(1_000_000, s.tcp!.rttNs / 20)]);
    expect(s.tcp!.compressedAck).toBe(3);
    // The hole is filled: ICSK_ACK_NOW; the held SACKs are covered.
    tcpDataQueue(s, pool, skb(0), 0, () => {});
    expect(tcpAckSndCheck(s, 0, true, 0)).toBe(true);
    expect(mib.TcpExtTCPAckCompressed).toBe(3);
  });

  it('tcp_backlog_ack_defer: while the reader owns the socket the ACK waits for tcp_release_cb, one per backlog drain', () => {
    const s = tcpSocket(1 << 20);
    acks.length = 0;
    s.owned = true;
    for (let i = 0; i < 6; i++) {
      tcpDataQueue(s, pool, skb(i * 1448), 0, () => {});
      expect(tcpAckSndCheck(s, 0, false, 0)).toBe(false);
    }
    expect(acks).toHaveLength(0);
    expect(tcpReleaseCb(s, 0, 0)).toBe(true);
    expect(acks).toEqual([{ ack: 6 * 1448, win: s.tcp!.lastWindow, hole: false }]);
    expect(tcpReleaseCb(s, 0, 0)).toBe(false); // nothing more deferred
  });

  it('the advertised window is the free buffer scaled by payload/truesize, capped by rcv_ssthresh, which each in-order skb raises by max(2 mss, 2 len)', () => {
    const s = tcpSocket(400_000);
    tcpDataQueue(s, pool, skb(0), 0, () => {});
    const ratio = Math.floor((1448 * 256) / frameTruesize(1518));
    expect(s.tcp!.rcvSsthresh).toBe(65535 + 2 * 1448);
    expect(s.tcp!.quick).toBeGreaterThan(0); // tcp_grow_window: quick |= 1
    expect(tcpSelectWindowNow(s)).toBe(65535 + 2 * 1448);
    s.tcp!.rcvSsthresh = 10_000_000;
    expect(tcpSelectWindowNow(s)).toBe(Math.floor(((400_000 - frameTruesize(1518)) * ratio) / 256));
  });
});
