import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  kernelConfigValue,
  parseEthtoolCoalesce,
  parseEthtoolCurrent,
  parseEthtoolFields,
  parseEthtoolFlowHash,
  parseEthtoolRss,
  parseEthtoolStats,
  parseInterrupts,
  parseKernelRelease,
  parseProcStat,
  parseSnmp,
  parseSoftirqs,
  parseSoftnetStat,
} from '../../src/study/proc-text.ts';
import { formatInterrupts, formatSoftirqs, formatSoftnetStat } from '../../src/metrics/procfs.ts';

/** Text recorded on the CI machine (Linux 6.18, 2 CPUs), cut to a few lines. */
const STAT = `cpu  2605111 13048 316575 3158538 2466 0 1717 955 0 0
cpu0 1288164 6734 155657 1597019 389 0 573 470 0 0
cpu1 1316946 6314 160917 1561519 2077 0 1144 484 0 0
intr 26350514 0 0 0
ctxt 51234
`;
const INTERRUPTS = `           CPU0       CPU1       
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 34:        515          0  PCI-MSIX-0000:00:05.0   1-edge      virtio4-input
 36:          0     479466  PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
NMI:          0          0   Non-maskable interrupts
LOC:    1453283    1622046   Local timer interrupts
`;
const SOFTIRQS = `                    CPU0       CPU1       
          HI:          0          0
       TIMER:     669078     828512
      NET_TX:          5          0
      NET_RX:      12016       2275
`;
const SOFTNET = `0002ecf5 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
0004f8fd 00000002 00000011 00000000 00000000 00000000 00000000 00000000 00000000 000000a0 00000000 00000000 00000001 00000000 00000000
`;
const SNMP = `Ip: Forwarding DefaultTTL InReceives InHdrErrors
Ip: 2 64 517380 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 3417 3 0 3441 0 0 0 0 0
`;

describe('readers of /proc text (src/study/proc-text.ts)', () => {
  it('/proc/stat: the per-CPU lines, in USER_HZ ticks, without the aggregate', () => {
    const cpus = parseProcStat(STAT);
    expect(cpus).toHaveLength(2);
    expect(cpus[1]).toEqual({ cpu: 1, user: 1316946, nice: 6314, system: 160917, idle: 1561519, iowait: 2077, irq: 0, softirq: 1144, steal: 484 });
  });

  it('/proc/interrupts: counts per CPU column, the action name, architecture rows by label', () => {
    const t = parseInterrupts(INTERRUPTS);
    expect(t.cpus).toEqual([0, 1]);
    expect(t.rows.find((r) => r.key === '36')).toMatchObject({ counts: [0, 479466], name: 'virtio1-req.0' });
    expect(t.rows.find((r) => r.key === 'LOC')).toMatchObject({ counts: [1453283, 1622046], name: 'Local timer interrupts' });
  });

  it("reads back what rxsim's own /proc formats print (procfs.ts)", () => {
    const irq = parseInterrupts(formatInterrupts([{ irq: 120, label: '', counts: [5, 7, 0], chip: 'PCI-MSI', hwirq: 0, name: 'eth0-TxRx-0' }], 3, 200));
    expect(irq.rows[0]).toMatchObject({ key: '120', counts: [5, 7, 0], name: 'eth0-TxRx-0' });
    expect(parseSoftirqs(formatSoftirqs([{ name: 'NET_RX', counts: [1, 2] }], 2)).rows[0]).toMatchObject({ key: 'NET_RX', counts: [1, 2] });
    const sn = parseSoftnetStat(formatSoftnetStat([{ processed: 300, dropped: 4, timeSqueeze: 9, receivedRps: 17, flowLimitCount: 2, inputQlen: 1, processQlen: 0, cpu: 3 }]));
    expect(sn[0]).toEqual({ processed: 300, dropped: 4, time_squeeze: 9, received_rps: 17, flow_limit_count: 2, cpu: 3 });
  });

  it('property: any table rxsim prints (procfs.ts) reads back as it was', () => {
    const count = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.array(count, { minLength: 64, maxLength: 64 })), { maxLength: 6 }), (ncpus, rows) => {
        const irqRows = rows.map(([irq, counts], i) => ({ irq: irq * 10 + i, label: '', counts: counts.slice(0, ncpus), chip: 'PCI-MSI', hwirq: i, name: `eth0-TxRx-${i}` }));
        const t = parseInterrupts(formatInterrupts(irqRows, ncpus, 100_000));
        expect(t.cpus).toEqual(Array.from({ length: ncpus }, (_, c) => c));
        expect(t.rows.map((r) => [Number(r.key), r.counts, r.name])).toEqual(irqRows.map((r) => [r.irq, r.counts, r.name]));
        const sn = rows.map(([cpu, c]) => ({
          processed: c[0]!,
          dropped: c[1]!,
          timeSqueeze: c[2]!,
          receivedRps: c[3]!,
          flowLimitCount: c[4]!,
          inputQlen: c[5]! % 1000,
          processQlen: c[6]! % 1000,
          cpu,
        }));
        expect(parseSoftnetStat(formatSoftnetStat(sn))).toEqual(
          sn.map((r) => ({ processed: r.processed, dropped: r.dropped, time_squeeze: r.timeSqueeze, received_rps: r.receivedRps, flow_limit_count: r.flowLimitCount, cpu: r.cpu })),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('/proc/softirqs and /proc/net/softnet_stat (hex columns, the CPU in column 13)', () => {
    expect(parseSoftirqs(SOFTIRQS).rows.find((r) => r.key === 'NET_RX')!.counts).toEqual([12016, 2275]);
    expect(parseSoftnetStat(SOFTNET)[1]).toEqual({ processed: 0x4f8fd, dropped: 2, time_squeeze: 0x11, received_rps: 0xa0, flow_limit_count: 0, cpu: 1 });
  });

  it("/proc/net/snmp: nstat's names (group and field run together)", () => {
    expect(parseSnmp(SNMP)).toMatchObject({ IpInReceives: 517380, UdpInDatagrams: 3417, UdpNoPorts: 3 });
  });

  it('ethtool -S, -i, -g/-l, -c, -x, -n rx-flow-hash, as ethtool 6.x prints them', () => {
    expect(parseEthtoolStats('NIC statistics:\n     rx_packets: 812345\n     rx_queue_0_packets: 101543\n')).toEqual({ rx_packets: 812345, rx_queue_0_packets: 101543 });
    expect(parseEthtoolFields('driver: ixgbe\nversion: 5.15.0\nexpansion-rom-version: \n').driver).toBe('ixgbe');
    const g = 'Ring parameters for eth2:\nPre-set maximums:\nRX:\t\t\t8192\nTX:\t\t\t8192\nCurrent hardware settings:\nRX:\t\t\t4096\nRX Mini:\t\tn/a\nTX:\t\t\t512\n';
    expect(parseEthtoolCurrent(g)).toEqual({ RX: 4096, TX: 512 });
    expect(parseEthtoolCoalesce('Coalesce parameters for eth2:\nAdaptive RX: on  TX: off\n\nrx-usecs:\t50\nrx-frames:\tn/a\ntx-frames-irq:\t256\n')).toEqual({
      adaptiveRx: 'on',
      values: { 'rx-usecs': 50, 'tx-frames-irq': 256 },
    });
    const x = parseEthtoolRss(
      'RX flow hash indirection table for eth2 with 2 RX ring(s):\n    0:      0     1     0     1\n    4:      1     0     1     0\nRSS hash key:\n6D:5A:56:DA\nRSS hash function:\n    toeplitz: on\n',
    );
    expect(x).toEqual({ indir: [0, 1, 0, 1, 1, 0, 1, 0], hkey: '6d:5a:56:da' });
    expect(parseEthtoolFlowHash('UDP over IPV4 flows use these fields for computing Hash flow key:\nIP SA\nIP DA\n')).toBe('sd');
    expect(parseEthtoolFlowHash('x:\nIP SA\nIP DA\nL4 bytes 0 & 1 [TCP/UDP src port]\nL4 bytes 2 & 3 [TCP/UDP dst port]\n')).toBe('sdfn');
    expect(parseEthtoolFlowHash('')).toBeNull();
  });

  it('kernel release and config values', () => {
    expect(parseKernelRelease('6.18.44-fc-v857\n')).toEqual([6, 18]);
    expect(parseKernelRelease('garbage')).toBeNull();
    expect(kernelConfigValue('CONFIG_HZ_250=y\nCONFIG_HZ=250\n# CONFIG_IRQ_TIME_ACCOUNTING is not set\n', 'CONFIG_HZ')).toBe('250');
    expect(kernelConfigValue('# CONFIG_IRQ_TIME_ACCOUNTING is not set\n', 'CONFIG_IRQ_TIME_ACCOUNTING')).toBe('n');
    expect(kernelConfigValue('', 'CONFIG_HZ')).toBeNull();
  });
});
