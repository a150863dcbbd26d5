import type { HostFs } from './host-fs.ts';
import type { CpuTable } from './proc-text.ts';

/**
 * A device's queue vectors among the rows of /proc/interrupts, found by the names drivers give
 * their MSI-X vectors (request_irq's name): ixgbe "eth0-TxRx-3" (ixgbe_request_msix_irqs), ice
 * "ice-eth0-TxRx-3" (ice_vsi_open names them after the netdev: "%s-%s", dev_driver_string,
 * netdev->name; ice_vsi_req_irq_msix adds "-TxRx-%d"), generic "eth0-rx-3", and virtio_net's
 * "virtio2-input.0", named after the virtio device (drivers/virtio/virtio_pci_common.c:
 * vp_request_msix_vectors).
 */

/** Queue index of a /proc/interrupts action that belongs to `dev`, or null. `virtio` is the device's virtio name ("virtio2") if it has one. */
export function vectorQueue(action: string, dev: string, virtio: string | null = null): number | null {
  const esc = dev.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:^|-)${esc}-(?:TxRx|rx|RxTx|rxtx|combined|fp)?-?(\\d+)$`).exec(action);
  if (m) return Number(m[1]);
  const v = virtio ? new RegExp(`^${virtio}-input\\.(\\d+)$`).exec(action) : null;
  return v ? Number(v[1]) : null;
}

/** The rows of `table` that are queue vectors of `dev`, with their queue index. */
export function deviceVectors(fs: HostFs, dev: string, table: CpuTable): { row: CpuTable['rows'][number]; queue: number }[] {
  const device = fs.link(`/sys/class/net/${dev}/device`)?.split('/').pop() ?? null;
  const virtio = device && /^virtio\d+$/.test(device) ? device : null;
  const out: { row: CpuTable['rows'][number]; queue: number }[] = [];
  for (const row of table.rows) {
    const queue = vectorQueue(row.name, dev, virtio);
    if (queue !== null) out.push({ row, queue });
  }
  return out;
}
