import { describe, expect, it } from 'vitest';
import { memoryHostFs } from '../../src/study/host-fs.ts';
import { measuredCsv, measuredSeries, type MeasureSample } from '../../src/study/measure.ts';
import { parseSeriesCsv } from '../../src/study/series-csv.ts';

const fs = memoryHostFs({ '/sys/class/net/eth2/device': 'link:../../../0000:3b:00.0' });

/** A sample of a 2-CPU machine with an ixgbe eth2 (two vectors), counters scaled by `k`. */
function sample(tMs: number, k: number): MeasureSample {
  return {
    tMs,
    stat: `cpu  1 1 1 1 0 0 0 0 0 0\ncpu0 ${100 + 5 * k} 0 ${50 + 2 * k} ${1000 + 3 * k} 0 0 0 0 0 0\ncpu1 100 0 50 ${1000 + 6 * k} ${k} 0 ${10 + 3 * k} 0 0 0\n`,
    interrupts: `           CPU0       CPU1\n 120:   ${10 + 100 * k}   0  PCI-MSI 0-edge      eth2-TxRx-0\n 121:   0   ${20 + 50 * k}  PCI-MSI 1-edge      eth2-TxRx-1\n 122:   ${1000 * k}   0  PCI-MSI 2-edge      eth3-TxRx-0\n`,
    softirqs: `                    CPU0       CPU1\n      NET_RX:   ${10 * k}    ${20 * k}\n       TIMER:   5   5\n`,
    softnet: `${(300 * k).toString(16).padStart(8, '0')} 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n`,
    snmp: `Udp: InDatagrams NoPorts\nUdp: ${400 * k} 0\n`,
    netstat: `TcpExt: TCPRcvQDrop\nTcpExt: 0\n`,
    devices: [{ name: 'eth2', ethtoolStats: `NIC statistics:\n     rx_packets: ${500 * k}\n     tx_packets: 7\n`, rxPackets: `${500 * k}\n` }],
  };
}

describe('rxsim measure (src/study/measure.ts)', () => {
  it("counters per second between samples; the device's vectors only; CPU shares add up to 100", () => {
    const s = measuredSeries(fs, [sample(0, 0), sample(100, 1), sample(300, 3)]);
    expect(s.t_ms).toEqual([100, 300]);
    const m = (k: string) => s.metrics.get(k);
    // eth2's two vectors moved 150 per unit (100 + 50); eth3's are not counted.
    expect(m('interrupts_per_sec')).toEqual([1500, 1500]);
    expect(m('interrupts_per_sec.eth2-TxRx-0')).toEqual([1000, 1000]);
    expect(m('interrupts_per_sec.eth3-TxRx-0')).toBeUndefined();
    expect(m('softirqs_per_sec.NET_RX')).toEqual([300, 300]);
    expect(m('softirqs_per_sec.NET_RX.cpu1')).toEqual([200, 200]);
    expect(m('softnet_per_sec.processed.cpu0')).toEqual([3000, 3000]);
    expect(m('softnet_per_sec.processed')).toEqual([3000, 3000]);
    expect(m('nstat_per_sec.UdpInDatagrams')).toEqual([4000, 4000]);
    expect(m('ethtool_per_sec.eth2.rx_packets')).toEqual([5000, 5000]);
    expect(m('devices.eth2.rx_packets_per_sec')).toEqual([5000, 5000]);
    // Counters that never moved are left out.
    expect(m('ethtool_per_sec.eth2.tx_packets')).toBeUndefined();
    expect(m('nstat_per_sec.TcpExtTCPRcvQDrop')).toBeUndefined();
    // cpu0 moved 5 user, 2 system, 3 idle ticks per unit: 50 / 20 / 30 %.
    expect([m('cpus.0.usr')![0], m('cpus.0.sys')![0], m('cpus.0.idle')![0]]).toEqual([50, 20, 30]);
    for (const cpu of [0, 1]) {
      for (let i = 0; i < 2; i++) {
        const total = ['usr', 'sys', 'irq', 'soft', 'idle'].reduce((a, c) => a + m(`cpus.${cpu}.${c}`)![i]!, 0);
        expect(total).toBeCloseTo(100, 1);
      }
    }
  });

  it("writes rxsim's series CSV, which reads back as it was", () => {
    const s = measuredSeries(fs, [sample(0, 0), sample(100, 1), sample(200, 2)]);
    const csv = measuredCsv(s);
    expect(csv.split('\n')[0]).toBe('time_ms,metric,value');
    expect(csv.split('\n')[1]).toBe('100,interrupts_per_sec,1500');
    const back = parseSeriesCsv(csv, 'm.csv');
    expect(back.metrics.get('softirqs_per_sec.NET_RX')).toEqual({ t: [100, 200], v: [300, 300] });
  });

  it('a file that is not series CSV is named with the expected form', () => {
    expect(() => parseSeriesCsv('a,b\n1,2\n', 'x.csv')).toThrow(/^x\.csv: expected rxsim series CSV with the header time_ms,metric,value/);
    expect(() => parseSeriesCsv('time_ms,metric,value\n1,m,zz\n', 'x.csv')).toThrow(/^x\.csv: line 2: "1,m,zz"/);
    expect(parseSeriesCsv('time_ms,metric,value\n1,"a,""b""",2\n', 'q.csv').metrics.get('a,"b"')).toEqual({ t: [1], v: [2] });
  });
});
