import { describe, expect, it } from 'vitest';
import { costTable } from '../../src/model/costs.ts';
import { forEachSegment, Gro, GRO_HEADER_BYTES, GRO_MAX_SIZE, MAX_GRO_SKBS } from '../../src/model/gro.ts';
import { NIL, PacketPool, PSH } from '../../src/model/packet.ts';
import { frameTruesize } from '../../src/model/socket.ts';

const MSS = 1448;

/** A GRO instance over a fresh pool; `seg()` makes TCP segments, `up` collects what GRO hands up. */
function setup(opts: { enabled?: boolean; batch?: number } = {}) {
  const pool = new PacketPool(64);
  const up: number[][] = [];
  // Flows 0-11 are TCP; 99 is UDP.
  const tcpFlows = Uint8Array.from({ length: 100 }, (_, f) => (f < 12 ? 1 : 0));
  const gro = new Gro(pool, costTable('baremetal-10g', {}), tcpFlows, opts.enabled ?? true, opts.batch ?? 8, (rows) => up.push([...rows]));
  const seg = (flow: number, seq: number, o: { len?: number; psh?: boolean; tsval?: number; hash?: number; udp?: boolean } = {}) => {
    const r = pool.alloc();
    pool.flow[r] = o.udp ? 99 : flow;
    pool.tuple[r] = 0;
    pool.seq[r] = seq;
    pool.payload[r] = pool.len[r] = o.len ?? MSS;
    pool.size[r] = (o.len ?? MSS) + 70;
    pool.truesize[r] = frameTruesize(pool.size[r]);
    pool.flags[r] = o.psh ? PSH : 0;
    pool.tsval[r] = o.tsval ?? 0;
    pool.hash[r] = o.hash ?? flow;
    return r;
  };
  const segs = (row: number) => {
    const out: number[] = [];
    forEachSegment(pool, row, (r) => out.push(r));
    return out.length;
  };
  const handedUp = () => up.flat();
  return { pool, gro, seg, segs, up, handedUp };
}

describe('GRO (dev_gro_receive, tcp_gro_receive)', () => {
  it('merges consecutive segments of a flow into one held skb', () => {
    const { gro, seg, pool } = setup();
    const a = seg(1, 0);
    gro.receive(a, 0, 0);
    gro.receive(seg(1, MSS), 0, 0);
    gro.receive(seg(1, 2 * MSS), 0, 0);
    expect(gro.holding).toBe(true);
    expect(pool.segs[a]).toBe(3);
    expect(pool.len[a]).toBe(3 * MSS);
    expect(gro.counters.merged).toBe(2);
    // skb_gro_receive steals each merged head: the aggregate holds three 2 KB buffers and one sk_buff.
    expect(pool.truesize[a]).toBe(3 * 2048 + 256);
  });

  it('PSH: merged, then the aggregate is flushed at once', () => {
    const { gro, seg, handedUp, segs } = setup({ batch: 1 });
    gro.receive(seg(1, 0), 0, 0);
    gro.receive(seg(1, MSS, { psh: true }), 0, 0);
    expect(handedUp()).toHaveLength(1);
    expect(segs(handedUp()[0]!)).toBe(2);
    expect(gro.holding).toBe(false);
    expect(gro.counters.flushPush).toBe(1);
  });

  it('a short segment is merged and ends the aggregate', () => {
    const { gro, seg, handedUp, segs } = setup({ batch: 1 });
    gro.receive(seg(1, 0), 0, 0);
    gro.receive(seg(1, MSS, { len: 500 }), 0, 0);
    expect(segs(handedUp()[0]!)).toBe(2);
    expect(gro.holding).toBe(false);
  });

  it('a sequence gap flushes the held skb and the new segment is held as a new aggregate (tcp_gro_receive: mss = 1, so flush = len < mss is 0)', () => {
    const { gro, seg, handedUp, pool } = setup({ batch: 1 });
    const a = seg(1, 0);
    gro.receive(a, 0, 0);
    const b = seg(1, 5 * MSS);
    gro.receive(b, 0, 0);
    expect(handedUp()).toEqual([a]);
    expect(pool.segs[a]).toBe(1);
    expect(gro.counters.flushMismatch).toBe(1);
    // The next in-sequence segment merges into b.
    gro.receive(seg(1, 6 * MSS), 0, 0);
    expect(pool.segs[b]).toBe(2);
    expect(gro.holding).toBe(true);
  });

  it('a different TCP timestamp (a new millisecond at the sender) ends the aggregate and starts the next', () => {
    const { gro, seg, handedUp, pool } = setup({ batch: 1 });
    const a = seg(1, 0, { tsval: 7 });
    gro.receive(a, 0, 0);
    const b = seg(1, MSS, { tsval: 8 });
    gro.receive(b, 0, 0);
    gro.receive(seg(1, 2 * MSS, { tsval: 8 }), 0, 0);
    expect(handedUp()).toEqual([a]);
    expect(pool.segs[b]).toBe(2);
  });

  it('a segment longer than the aggregate mss does not merge: it is held as the next aggregate', () => {
    const { gro, seg, handedUp } = setup({ batch: 1 });
    const a = seg(1, 0, { len: 1000 });
    gro.receive(a, 0, 0);
    gro.receive(seg(1, 1000, { len: 1448 }), 0, 0);
    expect(handedUp()).toEqual([a]);
    expect(gro.holding).toBe(true);
  });

  it('a mismatching segment with PSH goes up right after the held skb', () => {
    const { gro, seg, handedUp } = setup({ batch: 1 });
    const a = seg(1, 0);
    gro.receive(a, 0, 0);
    const b = seg(1, 5 * MSS, { psh: true });
    gro.receive(b, 0, 0);
    expect(handedUp()).toEqual([a, b]);
    expect(gro.holding).toBe(false);
  });

  it('stops at gro_max_size (64 KB): the held skb goes up, the new segment starts the next', () => {
    const { gro, seg, handedUp, segs, pool } = setup({ batch: 1 });
    const first = seg(1, 0);
    gro.receive(first, 0, 0);
    for (let i = 1; i < 46; i++) gro.receive(seg(1, i * MSS), 0, 0);
    expect(handedUp()).toHaveLength(1);
    expect(segs(handedUp()[0]!)).toBe(45); // 45 × 1448 + headers < 65536 ≤ 46 × 1448 + headers
    expect(pool.len[first]! + 66).toBeLessThan(65536);
    expect(gro.holding).toBe(true);
    expect(gro.counters.flushFull).toBe(1);
  });

  it("gro_max_size counts the held skb's headers (p->len + len >= 65536): 1310-byte segments stop at 49, not 50", () => {
    // 49 × 1310 = 64190; a 50th segment gives 65500 bytes of payload, below 64 KB, but with the
    // aggregate's 66 header bytes 65566 — skb_gro_receive returns -E2BIG. Without the headers it would merge.
    const { gro, seg, handedUp, segs, pool } = setup({ batch: 1 });
    const first = seg(1, 0, { len: 1310 });
    gro.receive(first, 0, 0);
    for (let i = 1; i < 50; i++) gro.receive(seg(1, i * 1310, { len: 1310 }), 0, 0);
    expect(handedUp()).toEqual([first]);
    expect(segs(first)).toBe(49);
    expect(pool.len[first]! + 1310).toBeLessThan(GRO_MAX_SIZE);
    expect(pool.len[first]! + 1310 + GRO_HEADER_BYTES).toBeGreaterThanOrEqual(GRO_MAX_SIZE);
  });

  it('holds at most MAX_GRO_SKBS (8) skbs per bucket: the oldest is flushed', () => {
    const { gro, seg, handedUp } = setup({ batch: 1 });
    const firsts: number[] = [];
    for (let f = 0; f < MAX_GRO_SKBS + 1; f++) {
      const r = seg(f, 0, { hash: 8 * f + 3 }); // all in bucket 3
      firsts.push(r);
      gro.receive(r, 0, 0);
    }
    expect(handedUp()).toEqual([firsts[0]]);
    expect(gro.counters.flushBucket).toBe(1);
  });

  it('uses bucket hash & 7: different buckets do not evict each other', () => {
    const { gro, seg, handedUp } = setup({ batch: 1 });
    for (let f = 0; f < 8; f++) gro.receive(seg(f, 0, { hash: f }), 0, 0);
    for (let f = 0; f < 8; f++) gro.receive(seg(f + 8 > 11 ? 11 : f + 8, 0, { hash: 8 + f }), 0, 0);
    expect(handedUp()).toHaveLength(0);
  });

  it('hands up in batches of gro_normal_batch segments (rx_list)', () => {
    const { gro, seg, up } = setup({ batch: 8 });
    for (let i = 0; i < 7; i++) gro.receive(seg(1, 0, { udp: true }), 0, 0);
    expect(up).toHaveLength(0);
    gro.receive(seg(1, 0, { udp: true }), 0, 0);
    expect(up).toHaveLength(1);
    expect(up[0]).toHaveLength(8);
  });

  it('an aggregate counts its segments toward the batch', () => {
    const { gro, seg, up } = setup({ batch: 8 });
    gro.receive(seg(1, 0), 0, 0);
    for (let i = 1; i < 9; i++) gro.receive(seg(1, i * MSS, { psh: i === 8 }), 0, 0);
    expect(up).toHaveLength(1); // one skb of 9 segments fills the batch
  });

  it('UDP is not aggregated; with GRO off nothing is', () => {
    const udp = setup({ batch: 1 });
    udp.gro.receive(udp.seg(1, 0, { udp: true }), 0, 0);
    udp.gro.receive(udp.seg(1, 0, { udp: true }), 0, 0);
    expect(udp.handedUp()).toHaveLength(2);
    const off = setup({ enabled: false, batch: 1 });
    off.gro.receive(off.seg(1, 0), 0, 0);
    off.gro.receive(off.seg(1, MSS), 0, 0);
    expect(off.handedUp()).toHaveLength(2);
    expect(off.gro.counters.merged).toBe(0);
  });

  it('flush(old): only skbs held since an earlier jiffy; flush(all) at napi_complete_done', () => {
    const { gro, seg, handedUp } = setup({ batch: 1 });
    const old = seg(1, 0, { hash: 1 });
    gro.receive(old, 0, 5); // held at jiffy 5
    const fresh = seg(2, 0, { hash: 2 });
    gro.receive(fresh, 0, 6); // held at jiffy 6
    gro.flush(true, 6, 0, 'old');
    expect(handedUp()).toEqual([old]);
    gro.flush(false, 6, 0, 'complete');
    expect(handedUp()).toEqual([old, fresh]);
    expect(gro.holding).toBe(false);
  });

  it('an aggregate keeps every member row (for per-segment accounting)', () => {
    const { gro, seg, pool } = setup();
    const a = seg(1, 0);
    const b = seg(1, MSS);
    const c = seg(1, 2 * MSS);
    for (const r of [a, b, c]) gro.receive(r, 0, 0);
    expect([pool.frag[a], pool.frag[b], pool.frag[c]]).toEqual([b, c, NIL]);
  });
});
