/**
 * The PCI address of the model's NIC `index` (dev_name of its PCI device): each NIC is function 0
 * of device 0 on a bus of its own, bus index + 1 in hex as lspci prints it (0000:01:00.0 for the
 * first). /proc/interrupts shows it in the MSI-X chip column (IR-PCI-MSIX-<address>) and ice in
 * its misc vector's name (ice_req_irq_msix_misc: "%s-%s:misc", dev_driver_string, dev_name).
 */
export function pciAddress(index: number): string {
  return `0000:${(index + 1).toString(16).padStart(2, '0')}:00.0`;
}
