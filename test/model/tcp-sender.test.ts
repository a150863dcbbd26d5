import { describe, expect, it } from 'vitest';
import { LocalTcpSender } from '../../src/model/local-sender.ts';
import { TCP_FRAME_OVERHEAD, TcpSender } from '../../src/model/tcp-sender.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';

/**
 * The remote TCP sender on its own: a tiny wire that serialises its frames at 10 Gbit/s, ACKs
 * fed by hand, and the RTO timer recorded instead of scheduled.
 */
const MSS = 1448;
const RTT_NS = 50_000;
const RTO_NS = 200_000_000;

function flowOf(stopMs: number) {
  const { resolved } = loadScenarioObject({
    name: 'sender',
    duration_ms: stopMs,
    nics: [{ name: 'eth0' }],
    flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: RTT_NS / 1000 }],
  });
  return resolved.flows[0]!;
}

interface Sent {
  seq: number;
  ps: number;
  retransmit: boolean;
}

function harness(stopMs = 1000) {
  const rto: number[] = [];
  let wakes = 0;
  const s = new TcpSender(
    flowOf(stopMs),
    MSS,
    TCP_FRAME_OVERHEAD,
    128 * 1024,
    RTT_NS,
    10,
    () => wakes++,
    (at) => rto.push(at),
  );
  const sent: Sent[] = [];
  let busyPs = 0;
  /** Put every frame the sender offers up to `ps` on the wire. */
  const sendUntil = (ps: number) => {
    while (s.nextPs <= ps) {
      const start = Math.max(s.nextPs, busyPs);
      const before = s.retransmits;
      const seq = s.nextSeq;
      busyPs = start + ((s.nextSize + 20) * 8 * 1000) / 10;
      s.advance(start);
      sent.push({ seq, ps: start, retransmit: s.retransmits > before });
    }
  };
  return { s, sent, rto, sendUntil, wakes: () => wakes };
}

const seg = (i: number) => i * MSS;

describe('TCP sender (the remote end of a flow)', () => {
  it('sends the initial window of 10 segments back to back, then waits for ACKs with the RTO armed', () => {
    const h = harness();
    h.sendUntil(1e12);
    expect(h.sent.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(seg));
    expect(h.s.nextPs).toBe(Infinity);
    expect(h.rto.at(-1)).toBe(Math.ceil(h.sent[0]!.ps / 1000) + RTO_NS);
  });

  it('is ACK-clocked: an ACK for two segments opens four (slow start) one RTT after it left', () => {
    const h = harness();
    h.sendUntil(1e12);
    h.s.ack(20_000, seg(2), 1 << 20, null);
    expect(h.wakes()).toBe(1);
    expect(h.s.nextPs).toBe((20_000 + RTT_NS) * 1000);
    h.sendUntil(1e12);
    expect(h.sent.slice(10).map((x) => x.seq)).toEqual([10, 11, 12, 13].map(seg));
    expect(h.s.cwnd).toBe(12 * MSS);
  });

  it('an ACK with SACK blocks starts recovery: cwnd halves, and every hole below the highest SACKed byte is retransmitted in the same RTT (RACK marks them lost)', () => {
    const h = harness();
    h.sendUntil(1e12);
    // Segments 2 and 5 were lost: the receiver acks 2 and SACKs 3-4 and 6-9.
    h.s.ack(20_000, seg(2), 1 << 20, null);
    h.s.ack(20_100, seg(2), 1 << 20, [seg(3), seg(5), seg(6), seg(10)]);
    h.sendUntil(1e12);
    const re = h.sent.filter((x) => x.retransmit);
    expect(re.map((x) => x.seq)).toEqual([seg(2), seg(5)]);
    expect(re[0]!.ps).toBeGreaterThanOrEqual((20_100 + RTT_NS) * 1000);
    expect(re[1]!.ps - re[0]!.ps).toBeLessThan(RTT_NS * 1000); // back to back, not an RTT apart
    expect(h.s.cwnd).toBe(6 * MSS);
    // The pipe is full: 10-13 still in flight (4) and the two retransmissions make 6 = cwnd, so
    // no new data yet (RFC 6675: send only while pipe < cwnd).
    expect(h.s.sndNxt).toBe(seg(14));
    // A partial ACK (2 repaired, 5 not yet acked) does not reduce cwnd again or resend 5.
    h.s.ack(80_000, seg(5), 1 << 20, [seg(6), seg(10)]);
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(2), seg(5)]);
    expect(h.s.cwnd).toBe(6 * MSS);
  });

  it('a hole with fewer than DupThresh segments SACKed above it is reordering, not loss: no recovery, no retransmission (RFC 6675 IsLost)', () => {
    const h = harness();
    h.sendUntil(1e12);
    h.s.ack(20_000, seg(2), 1 << 20, null);
    const cwnd = h.s.cwnd;
    h.s.ack(20_100, seg(2), 1 << 20, [seg(3), seg(5)]); // segment 2 overtaken by 3 and 4
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit)).toHaveLength(0);
    expect(h.s.cwnd).toBe(cwnd);
    // The third segment SACKed above it makes it lost.
    h.s.ack(20_200, seg(2), 1 << 20, [seg(3), seg(6)]);
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(2)]);
  });

  it('a tail loss with too little SACKed after it is found by the reordering window (RTT + min_rtt/4), not the RTO', () => {
    const h = harness(1); // stops sending new data at 1 ms: only the tail
    h.sendUntil(1e12);
    h.s.ack(20_000, seg(7), 1 << 20, null);
    h.sendUntil(1e12);
    // Segment 7 lost, 8 and 9 SACKed: two segments, below DupThresh.
    h.s.ack(20_100, seg(7), 1 << 20, [seg(8), seg(10)]);
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit)).toHaveLength(0);
    const armed = h.rto.at(-1)!;
    const sackSeen = 20_100 + RTT_NS;
    expect(armed).toBe(sackSeen + Math.round(RTT_NS * 1.25)); // the reorder timer, long before the RTO
    h.s.onRto(armed);
    h.sendUntil(1e15);
    expect(h.s.rtos).toBe(0);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(7)]);
  });

  it('in SACK recovery a retransmission still unacknowledged an RTT and a quarter later is lost too: found by the timer, not the RTO', () => {
    const h = harness(1);
    h.sendUntil(1e12);
    h.s.ack(20_000, seg(2), 1 << 20, [seg(3), seg(10)]);
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(2)]);
    const retx = h.sent.find((x) => x.retransmit)!.ps;
    // No ACK comes back (the retransmission was dropped): the timer is armed for the
    // reordering window after it, far before the RTO.
    const armed = h.rto.at(-1)!;
    expect(armed).toBe(Math.ceil((retx + Math.round(RTT_NS * 1000 * 1.25)) / 1000));
    h.s.onRto(armed);
    h.sendUntil(1e15);
    expect(h.s.rtos).toBe(0);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(2), seg(2)]);
  });

  it('without SACK information (after an RTO) a partial ACK retransmits the next segment (NewReno)', () => {
    const h = harness();
    h.sendUntil(1e12);
    h.s.onRto(h.rto.at(-1)!);
    h.sendUntil(1e15);
    const rtoAt = h.sent.at(-1)!.ps / 1000;
    h.s.ack(rtoAt + 10, seg(3), 1 << 20, null);
    h.sendUntil(1e15);
    expect(h.sent.filter((x) => x.retransmit).map((x) => x.seq)).toEqual([seg(0), seg(3)]);
  });

  it('a lost retransmission is sent again only after an RTT of duplicate ACKs', () => {
    const h = harness();
    h.sendUntil(1e12);
    h.s.ack(20_000, 0, 1 << 20, [seg(1), seg(10)]);
    h.sendUntil(1e12);
    h.s.ack(20_010, 0, 1 << 20, [seg(1), seg(10)]); // still the hole, well within an RTT of the retransmission
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit)).toHaveLength(1);
    h.s.ack(20_000 + 2 * RTT_NS, 0, 1 << 20, [seg(1), seg(10)]);
    h.sendUntil(1e12);
    expect(h.sent.filter((x) => x.retransmit)).toHaveLength(2);
  });

  it('RTO: retransmits snd_una with cwnd = 1 MSS and doubles the timeout on each expiry (icsk_backoff)', () => {
    const h = harness();
    h.sendUntil(1e12);
    const first = h.rto.at(-1)!;
    h.s.onRto(first);
    h.sendUntil(1e15);
    expect(h.s.rtos).toBe(1);
    expect(h.s.cwnd).toBe(MSS);
    const re = h.sent.filter((x) => x.retransmit);
    expect(re.map((x) => x.seq)).toEqual([0]);
    const second = h.rto.at(-1)!;
    expect(second).toBe(Math.ceil(re[0]!.ps / 1000) + 2 * RTO_NS);
    h.s.onRto(second);
    h.sendUntil(1e15);
    expect(h.s.rtos).toBe(2);
    expect(h.rto.at(-1)).toBe(Math.ceil(h.sent.at(-1)!.ps / 1000) + 4 * RTO_NS);
  });

  it('a stale RTO (an ACK restarted the timer since it was armed) is not an expiry', () => {
    const h = harness();
    h.sendUntil(1e12);
    const armed = h.rto.at(-1)!;
    h.s.ack(armed - 100_000 - RTT_NS, seg(1), 0, null); // acks one segment, closes the window
    h.s.onRto(armed);
    expect(h.s.rtos).toBe(0);
    expect(h.rto.at(-1)).toBe(armed - 100_000 + RTO_NS);
  });

  it('after the stop time it sends no new data but still repairs holes, and stands down once all is acked', () => {
    const h = harness(1); // stops at 1 ms
    h.sendUntil(1e12);
    const nxt = h.s.sndNxt;
    // The window reopens after the stop: no new data.
    h.s.ack(2_000_000, seg(3), 1 << 20, null);
    h.sendUntil(1e15);
    expect(h.s.sndNxt).toBe(nxt);
    // A hole reported after the stop is still repaired.
    h.s.ack(2_000_100, seg(3), 1 << 20, [seg(4), seg(8)]);
    h.sendUntil(1e15);
    expect(h.sent.at(-1)).toMatchObject({ seq: seg(3), retransmit: true });
    // ACKs for everything: all applied although the sender is blocked, and the RTO is cancelled.
    h.s.ack(2_100_000, seg(8), 1 << 20, null);
    h.s.ack(2_100_010, nxt, 1 << 20, null);
    h.sendUntil(1e15);
    expect(h.s.nextPs).toBe(Infinity);
    expect(h.s.sndUna).toBe(nxt);
    expect(h.rto.at(-1)).toBe(Infinity);
  });
});

describe('local TCP sender (veth-local)', () => {
  const setup = () => {
    const woken: number[] = [];
    const rto: number[] = [];
    const s = new LocalTcpSender(
      flowOf(1000),
      MSS,
      () => woken.push(1),
      (at) => rto.push(at),
    );
    return { s, woken, rto };
  };

  it('sends GSO skbs of whole segments up to 64 KB, within the window, and waits below one MSS', () => {
    const { s } = setup();
    s.rwnd = 1 << 20;
    expect(s.nextSkbBytes(131072)).toBe(45 * MSS); // 65160: the largest whole-segment GSO skb
    expect(s.nextSkbBytes(1000)).toBe(1000); // the end of a write goes as it is
    s.rwnd = 3 * MSS + 100;
    expect(s.nextSkbBytes(131072)).toBe(3 * MSS);
    s.transmit(3 * MSS, 0);
    expect(s.nextSkbBytes(131072)).toBe(0); // 100 bytes of room: sk_stream_wait_memory
  });

  it('an ACK freeing a third of the window wakes the writer; a hole rewinds to snd_una (go-back-N), counted as retransmits', () => {
    const { s, woken, rto } = setup();
    s.rwnd = 30 * MSS;
    s.transmit(30 * MSS, 0);
    expect(rto).toEqual([RTO_NS]);
    s.waiter = {} as never;
    s.ack(10, 5 * MSS, 30 * MSS, null); // 5 segments free: less than a third
    expect(woken).toHaveLength(0);
    s.ack(20, 10 * MSS, 30 * MSS, null);
    expect(woken).toHaveLength(1);
    s.ack(30, 10 * MSS, 30 * MSS, [11 * MSS, 30 * MSS]); // duplicate ACK with a hole
    expect(s.sndNxt).toBe(10 * MSS);
    s.transmit(20 * MSS, 40);
    expect(s.retransmits).toBe(20);
    expect(s.sndMax).toBe(30 * MSS);
  });
});
