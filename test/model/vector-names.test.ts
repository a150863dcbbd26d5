import { describe, expect, it } from 'vitest';
import { DRIVERS } from '../../src/model/nic/drivers.ts';
import { pciAddress } from '../../src/model/nic/pci.ts';
import { run } from '../helpers.ts';

/** The /proc/interrupts rows of a run (the last field is the action name, the one before the chip's hwirq). */
function interruptRows(nics: Record<string, unknown>[]): string[] {
  return run({ nics, duration_ms: 1 })
    .result.proc.interrupts.split('\n')
    .filter((l) => l.includes('PCI-MSIX'));
}

describe('MSI-X vector names as /proc/interrupts shows them', () => {
  it('ice names its queue vectors after the netdev (ice_vsi_open: "%s-%s", driver, netdev name; ice_vsi_req_irq_msix: "-TxRx-%d")', () => {
    const rows = interruptRows([
      { name: 'eth0', driver: 'ice', channels: { combined: 2 } },
      { name: 'ens1f1', driver: 'ice', channels: { combined: 2 } },
    ]);
    expect(rows.map((l) => l.trim().split(/\s+/).at(-1))).toEqual(['ice-eth0-TxRx-0', 'ice-eth0-TxRx-1', 'ice-ens1f1-TxRx-0', 'ice-ens1f1-TxRx-1']);
    // Each NIC's vectors are on its own PCI device: the second NIC's chip column is bus 02.
    expect(rows[2]).toContain('IR-PCI-MSIX-0000:02:00.0');
  });

  it('ixgbe and the generic profile keep their names', () => {
    const rows = interruptRows([
      { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } },
      { name: 'eth1', driver: 'generic', channels: { combined: 1 } },
    ]);
    expect(rows.map((l) => l.trim().split(/\s+/).at(-1))).toEqual(['eth0-TxRx-0', 'eth1-rx-0']);
  });

  it('ice\'s misc vector carries the NIC\'s PCI address (ice_req_irq_msix_misc: "%s-%s:misc", driver, dev_name), the one its chip column shows', () => {
    expect(DRIVERS.ice.otherVectorName!('eth0', pciAddress(0))).toBe('ice-0000:01:00.0:misc');
    expect(DRIVERS.ice.otherVectorName!('eth1', pciAddress(1))).toBe('ice-0000:02:00.0:misc');
    expect(DRIVERS.ixgbe.otherVectorName!('eth1', pciAddress(1))).toBe('eth1'); // ixgbe_msix_other under netdev->name
    expect(DRIVERS.generic.otherVectorName).toBeNull();
  });

  it('a PCI bus number is two hex digits, as dev_name prints it', () => {
    expect(pciAddress(8)).toBe('0000:09:00.0');
    expect(pciAddress(9)).toBe('0000:0a:00.0');
    expect(pciAddress(15)).toBe('0000:10:00.0');
  });
});
