/**
 * Driver profiles: the defaults and limits a real driver enforces, so a scenario is rejected or
 * adjusted the way `ethtool` on that driver would. Sources: drivers/net/ethernet/intel/ixgbe
 * (ixgbe.h, ixgbe_main.c, ixgbe_ethtool.c) and drivers/net/ethernet/intel/ice (ice_txrx.h, ice.h);
 * values not confirmed in those sources are marked UNVERIFIED.
 */

export type DriverName = 'ixgbe' | 'ice' | 'generic';

/** How the vector's interrupt rate is limited. */
export type ModerationKind =
  /** ixgbe EITR: `rx-usecs` is a minimum interval between interrupts; 1 = adaptive (ixgbe_update_itr). */
  | 'eitr'
  /** ice: ITR in 2 µs units, `adaptive-rx` (net_dim) separate from `rx-usecs`. */
  | 'ice-itr'
  /** Timer from the first frame (`rx-usecs`) or a frame count (`rx-frames`), whichever comes first. */
  | 'timer-frames';

/** A kernel function of the driver, and its source file ('' when the profile is no real driver). */
export interface DriverFunction {
  fn: string;
  file: string;
}

/** The driver functions a followed packet passes (src/trace/follow.ts names its stages with them). */
export interface DriverFunctions {
  /** The queue vector's MSI-X handler (request_irq's handler): it only schedules the vector's NAPI. */
  msixHandler: DriverFunction;
  /** The RX clean loop the NAPI poll calls: one descriptor per frame, the skb built there. */
  cleanRx: DriverFunction;
  /** Runs the native XDP program on a frame in the clean loop; XDP_DROP and XDP_ABORTED end there. */
  runXdp: DriverFunction;
  /** Posts an XDP_TX frame on the queue pair's XDP TX ring. */
  xdpTx: DriverFunction;
}

export interface DriverProfile {
  name: DriverName;
  /** Where in the driver's source the receive path runs. */
  functions: DriverFunctions;
  ring: {
    default: number;
    min: number;
    max: number;
    /** Requested sizes are rounded up to a multiple of this (IXGBE_REQ_RX_DESCRIPTOR_MULTIPLE, ICE_REQ_DESC_MULTIPLE). */
    multiple: number;
    /** ixgbe_set_ringparam clamps a size below the minimum; ice_set_ringparam rejects it. */
    belowMin: 'clamp' | 'reject';
    source: string;
    /** TX descriptors per queue at probe (ethtool -G tx is not modelled: every TX ring has this size). */
    txDefault: number;
    /**
     * The free descriptors below which the driver stops its TX queue after a transmit (ixgbe:
     * DESC_NEEDED = MAX_SKB_FRAGS + 4 in ixgbe_maybe_stop_tx; ice: ICE_DESC_UNUSED threshold
     * DESC_NEEDED likewise): room for a worst-case skb.
     */
    txStopBelow: number;
  };
  /** Most RSS queues (`ethtool -L combined`) the driver offers. */
  maxQueues: number;
  /** RSS indirection table entries (RETA). */
  indirSize: number;
  /** RSS key length in bytes (`ethtool -X hkey`). */
  rssKeyBytes: number;
  /** Largest MTU (`ip link set mtu`). */
  maxMtu: number;
  /** Whether UDP is hashed on ports by default (else on addresses only). */
  udpHashPortsDefault: boolean;
  moderation: {
    kind: ModerationKind;
    rxUsecsDefault: number;
    rxUsecsMax: number;
    /** Hardware interval granularity in µs. */
    granularityUs: number;
    adaptiveDefault: boolean;
    /** Whether `ethtool -C rx-frames` is accepted (supported_coalesce_params). */
    rxFrames: boolean;
    rxFramesDefault: number;
    source: string;
  };
  /** Descriptors are given back to hardware in batches of this many (IXGBE_RX_BUFFER_WRITE). */
  refillBatch: number;
  /** The ethtool -S counter for frames dropped because no descriptor was posted. */
  noDescriptorCounter: string;
  /** Per-queue ethtool -S counter names (RX or TX queue). */
  queueStat(q: number, what: 'packets' | 'bytes', dir?: 'rx' | 'tx'): string;
  /** TX completions one poll cleans at most per TX ring (q_vector->tx.work_limit), independent of the NAPI budget. */
  txWorkLimit: number;
  /** Whether `ethtool -C tx-frames-irq` sets that limit (supported_coalesce_params: ETHTOOL_COALESCE_TX_MAX_FRAMES_IRQ). */
  txFramesIrq: boolean;
  /** MSI-X vector name as /proc/interrupts shows it, for queue `q` of netdev `dev`. */
  vectorName(dev: string, q: number): string;
  /** Name of the non-queue ("other"/misc) vector of netdev `dev` at PCI address `pci`; null: the driver has none. */
  otherVectorName: ((dev: string, pci: string) => string) | null;
  /** The driver implements ndo_rx_flow_steer (accelerated RFS with ntuple on). */
  rxFlowSteer: boolean;
  /**
   * Where the RX buffers' pages come from in 6.18: the driver's own half-page reuse
   * (ixgbe_can_reuse_rx_page, ice_can_reuse_rx_page) or a page_pool per RX queue; and the
   * ethtool -S counters of page allocation failures (always 0 here: allocation never fails).
   */
  rxPages: { kind: 'half-page-reuse' | 'page_pool'; failCounters: readonly string[]; source: string };
  /** Bytes of one RX buffer (the frag truesize of each buffer a frame fills). */
  rxBufferBytes: number;
  /**
   * AF_XDP zero-copy (XDP_ZEROCOPY): the driver has ndo_xsk_wakeup and an XSK buffer pool path
   * for its RX rings (xp_assign_dev refuses XDP_ZEROCOPY with EOPNOTSUPP otherwise).
   */
  xskZeroCopy: { supported: boolean; source: string };
  /** Link speeds the hardware family supports, in Gbit/s (what `ethtool -s <dev> speed` accepts), and where they come from. */
  speedsGbps: readonly number[];
  speedsSource: string;
  /** 802.3x link flow control: defaults of `ethtool -A`, the drop rule, the packet buffer, counter names. */
  flowControl: {
    /** The requested mode after probe: rx and tx pause. */
    rx: boolean;
    tx: boolean;
    /** Flow-control autonegotiation after probe (`ethtool -a` "Autonegotiate"). */
    autoneg: boolean;
    /** ixgbe_set_rx_drop_en's rule, or a queue without descriptors always drops. */
    dropEn: 'ixgbe_set_rx_drop_en' | 'always';
    /** RX packet buffer for one traffic class (RXPBSIZE), KB. */
    rxPacketBufferKb: number;
    /** ethtool -S names of PAUSE frames sent and received (null: the driver has no such counter). */
    counters: { txXon: string | null; txXoff: string; rxXon: string | null; rxXoff: string };
    source: string;
  };
}

export const DRIVERS: Record<DriverName, DriverProfile> = {
  ixgbe: {
    name: 'ixgbe',
    functions: {
      msixHandler: { fn: 'ixgbe_msix_clean_rings', file: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c' },
      cleanRx: { fn: 'ixgbe_clean_rx_irq', file: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c' },
      runXdp: { fn: 'ixgbe_run_xdp', file: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c' },
      xdpTx: { fn: 'ixgbe_xmit_xdp_ring', file: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c' }, // ixgbe_run_xdp's XDP_TX: xdp_convert_buff_to_frame, then this
    },
    xskZeroCopy: { supported: true, source: 'ixgbe_xsk.c: ixgbe_xsk_pool_setup, ixgbe_clean_rx_irq_zc, ixgbe_xsk_wakeup' },
    ring: {
      default: 512,
      min: 64,
      max: 4096,
      multiple: 8,
      belowMin: 'clamp',
      source: 'ixgbe.h IXGBE_DEFAULT_RXD/IXGBE_MIN_RXD/IXGBE_MAX_RXD, IXGBE_DEFAULT_TXD, DESC_NEEDED; ixgbe_set_ringparam',
      txDefault: 512, // IXGBE_DEFAULT_TXD
      txStopBelow: 21, // DESC_NEEDED: MAX_SKB_FRAGS (17) + 4
    },
    maxQueues: 16, // IXGBE_MAX_RSS_INDICES (82599; 63 on X550)
    indirSize: 128, // ixgbe_rss_indir_tbl_entries() for 82598/82599/X540
    rssKeyBytes: 40, // IXGBE_RSS_KEY_SIZE
    maxMtu: 9710, // IXGBE_MAX_JUMBO_FRAME_SIZE 9728 - (ETH_HLEN + ETH_FCS_LEN)
    udpHashPortsDefault: false, // ixgbe_setup_mrqc: UDP 4-tuple only with IXGBE_FLAG2_RSS_FIELD_IPV4_UDP
    moderation: {
      kind: 'eitr',
      rxUsecsDefault: 1, // ixgbe_sw_init: dynamic ITR by default
      rxUsecsMax: 1022, // IXGBE_MAX_EITR >> 2 (IXGBE_MAX_EITR = 0xFF8 UNVERIFIED)
      granularityUs: 2, // EITR interval field bits 3..11 (UNVERIFIED, datasheet)
      adaptiveDefault: true,
      rxFrames: false, // supported_coalesce_params = USECS | TX_MAX_FRAMES_IRQ
      rxFramesDefault: 0,
      source: 'ixgbe_set_coalesce, ixgbe_update_itr (ixgbe_main.c)',
    },
    refillBatch: 16, // IXGBE_RX_BUFFER_WRITE
    noDescriptorCounter: 'rx_no_dma_resources',
    queueStat: (q, what, dir = 'rx') => `${dir}_queue_${q}_${what}`,
    txWorkLimit: 256, // IXGBE_DEFAULT_TX_WORK (adapter->tx_work_limit; ethtool -C tx-frames-irq)
    txFramesIrq: true,
    vectorName: (dev, q) => `${dev}-TxRx-${q}`, // ixgbe_request_msix_irqs
    otherVectorName: (dev) => dev, // ixgbe_request_msix_irqs: ixgbe_msix_other under netdev->name
    rxFlowSteer: false, // ntuple enables Flow Director perfect filters, but ixgbe has no ndo_rx_flow_steer
    rxPages: {
      kind: 'half-page-reuse',
      failCounters: ['alloc_rx_page_failed', 'alloc_rx_buff_failed'],
      source: 'ixgbe_main.c: ixgbe_can_reuse_rx_page, ixgbe_alloc_mapped_page; ixgbe_ethtool.c: ixgbe_gstrings_stats',
    },
    rxBufferBytes: 2048, // ixgbe_rx_pg_size / 2: half a 4 KB page per buffer (build_skb, IXGBE_RXBUFFER_2K path)
    // 82599/X540: 100M (X540), 1G, 10G; X550: also 2.5G and 5G (NBASE-T).
    speedsGbps: [0.1, 1, 2.5, 5, 10],
    speedsSource: 'ixgbe_ethtool.c: ixgbe_set_link_ksettings (IXGBE_LINK_SPEED_100_FULL … IXGBE_LINK_SPEED_10GB_FULL)',
    flowControl: {
      // ixgbe_sw_init: requested_mode = ixgbe_fc_full; disable_fc_autoneg =
      // ixgbe_device_supports_autoneg_fc(hw), which is true for an SFP+ port probed with the link
      // down: flow-control autoneg is off, so the current mode is full whatever the partner says.
      rx: true,
      tx: true,
      autoneg: false,
      dropEn: 'ixgbe_set_rx_drop_en',
      // IXGBE_82599_RX_PB_SIZE 512 KB less Flow Director's 64 KB (ixgbe_configure_pb: hdrm =
      // 32 << IXGBE_FDIR_PBALLOC_64K), one traffic class (ixgbe_set_rxpba_generic, PBA_STRATEGY_EQUAL).
      rxPacketBufferKb: 448,
      counters: { txXon: 'tx_flow_control_xon', txXoff: 'tx_flow_control_xoff', rxXon: 'rx_flow_control_xon', rxXoff: 'rx_flow_control_xoff' },
      source: 'ixgbe_main.c: ixgbe_sw_init, ixgbe_set_rx_drop_en, ixgbe_pbthresh_setup; ixgbe_ethtool.c: ixgbe_gstrings_stats',
    },
  },
  ice: {
    name: 'ice',
    // 6.18, before libeth XDP (6.19): the handler is static in ice_lib.c; ice_run_xdp's XDP_TX calls
    // __ice_xmit_xdp_ring directly (ice_xmit_xdp_ring, in ice_txrx.c, is ndo_xdp_xmit's wrapper of it).
    functions: {
      msixHandler: { fn: 'ice_msix_clean_rings', file: 'drivers/net/ethernet/intel/ice/ice_lib.c' },
      cleanRx: { fn: 'ice_clean_rx_irq', file: 'drivers/net/ethernet/intel/ice/ice_txrx.c' },
      runXdp: { fn: 'ice_run_xdp', file: 'drivers/net/ethernet/intel/ice/ice_txrx.c' },
      xdpTx: { fn: '__ice_xmit_xdp_ring', file: 'drivers/net/ethernet/intel/ice/ice_txrx_lib.c' },
    },
    xskZeroCopy: { supported: true, source: 'ice_xsk.c: ice_xsk_pool_setup, ice_clean_rx_irq_zc, ice_xsk_wakeup' },
    ring: {
      default: 2048, // ICE_DFLT_NUM_RX_DESC
      min: 64,
      max: 8160, // ICE_MAX_NUM_DESC (E810)
      multiple: 32, // ICE_REQ_DESC_MULTIPLE
      belowMin: 'reject',
      source: 'ice.h; ice_set_ringparam',
      txDefault: 256, // ICE_DFLT_NUM_TX_DESC
      txStopBelow: 21, // ice_maybe_stop_tx(tx_ring, DESC_NEEDED) (UNVERIFIED: taken as ixgbe's MAX_SKB_FRAGS + 4)
    },
    maxQueues: 256,
    indirSize: 2048, // ICE_LUT_PF_SIZE
    rssKeyBytes: 52, // 40-byte standard key + 12-byte extended hash key
    maxMtu: 9702, // ICE_MAX_MTU (UNVERIFIED: 9728 - ICE_ETH_PKT_HDR_PAD)
    udpHashPortsDefault: true,
    moderation: {
      kind: 'ice-itr',
      rxUsecsDefault: 50, // ICE_DFLT_RX_ITR = ICE_ITR_20K
      rxUsecsMax: 8160, // ICE_ITR_MAX
      granularityUs: 2, // ICE_ITR_GRAN_S 1: "ITR granularity is always 2us"
      adaptiveDefault: true, // itr_mode = ITR_DYNAMIC
      rxFrames: false,
      rxFramesDefault: 0,
      source: 'ice_txrx.h, ice_vsi_alloc_q_vector, ice_set_rc_coalesce',
    },
    refillBatch: 16, // ICE_RX_BUF_WRITE in older versions
    noDescriptorCounter: 'rx_dropped', // UNVERIFIED: VSI rx_discards reported as rx_dropped
    queueStat: (q, what, dir = 'rx') => `${dir}_queue_${q}_${what}`,
    txWorkLimit: 256, // ICE_DFLT_IRQ_WORK (ice_clean_tx_irq's budget)
    txFramesIrq: false, // supported_coalesce_params: USECS | USE_ADAPTIVE | RX_USECS_HIGH
    // ice_vsi_open: basename "%s-%s" (dev_driver_string, netdev->name); ice_vsi_req_irq_msix: "%s-%s-%d", basename, "TxRx", idx.
    vectorName: (dev, q) => `ice-${dev}-TxRx-${q}`,
    otherVectorName: (_dev, pci) => `ice-${pci}:misc`, // ice_req_irq_msix_misc: "%s-%s:misc", dev_driver_string, dev_name
    rxFlowSteer: true, // ice_rx_flow_steer (ice_arfs.c, CONFIG_RFS_ACCEL)
    rxPages: {
      // 6.18's ice still splits pages itself; "ice: switch to Page Pool" (libeth) came in 6.19.
      kind: 'half-page-reuse',
      failCounters: ['rx_pg_alloc_fail', 'rx_alloc_fail'],
      source: 'ice_txrx.c: ice_can_reuse_rx_page, ice_alloc_mapped_page; ice_ethtool.c: ice_gstrings_vsi_stats',
    },
    rxBufferBytes: 2048, // half pages, as ixgbe (ice_rx_pg_size / 2 with ICE_RXBUF_1536 buffers at MTU 1500)
    // E810: 1G to 100G; E830 adds 200G.
    speedsGbps: [1, 10, 25, 40, 50, 100, 200],
    speedsSource: 'ice_ethtool.c: ice_set_link_ksettings (ICE_AQ_LINK_SPEED_1000MB … ICE_AQ_LINK_SPEED_200GB)',
    flowControl: {
      // UNVERIFIED: the E810 default comes from the NVM/firmware (ice_init_phy_user_cfg keeps
      // what the PHY reports); taken as full pause with autoneg on. ice has no DROP_EN: a queue
      // without descriptors drops (the model's ring drop), so the packet buffer never backs up.
      rx: true,
      tx: true,
      autoneg: true,
      dropEn: 'always',
      rxPacketBufferKb: 448, // UNVERIFIED; unused while the queue drops
      counters: { txXon: 'link_xon_tx.nic', txXoff: 'link_xoff_tx.nic', rxXon: 'link_xon_rx.nic', rxXoff: 'link_xoff_rx.nic' },
      source: 'ice_ethtool.c: ice_gstrings_pf_stats, ice_set_pauseparam',
    },
  },
  generic: {
    name: 'generic',
    // No real driver: what each function does, not a name no kernel has.
    functions: {
      msixHandler: { fn: 'driver MSI-X handler (generic profile)', file: '' },
      cleanRx: { fn: 'driver RX clean (generic profile)', file: '' },
      runXdp: { fn: 'driver XDP run (generic profile)', file: '' },
      xdpTx: { fn: 'driver XDP_TX transmit (generic profile)', file: '' },
    },
    xskZeroCopy: { supported: false, source: 'a generic driver without ndo_xsk_wakeup: copy mode only (xp_assign_dev: -EOPNOTSUPP for XDP_ZEROCOPY)' },
    ring: { default: 1024, min: 64, max: 4096, multiple: 1, belowMin: 'reject', source: 'a generic NAPI driver (no specific hardware)', txDefault: 1024, txStopBelow: 21 },
    maxQueues: 64,
    indirSize: 128,
    rssKeyBytes: 40,
    maxMtu: 9000,
    udpHashPortsDefault: true,
    moderation: {
      kind: 'timer-frames',
      rxUsecsDefault: 8,
      rxUsecsMax: 1000,
      granularityUs: 1,
      adaptiveDefault: false,
      rxFrames: true,
      rxFramesDefault: 128, // like mlx5's CQ moderation defaults (8 µs, 128 packets; UNVERIFIED)
      source: 'timer-from-first-frame plus frame count, as CQ-moderation NICs do',
    },
    refillBatch: 16,
    noDescriptorCounter: 'rx_missed_errors',
    queueStat: (q, what, dir = 'rx') => `${dir}${q}_${what}`,
    txWorkLimit: 128, // like mlx5e's MLX5E_TX_CQ_POLL_BUDGET (UNVERIFIED)
    txFramesIrq: false,
    vectorName: (dev, q) => `${dev}-rx-${q}`,
    otherVectorName: null,
    rxFlowSteer: true, // like mlx5e_rx_flow_steer
    rxPages: {
      kind: 'page_pool',
      failCounters: [],
      source: 'net/core/page_pool.c (a page_pool per RX queue, pool_size = ring size; buffers as libeth_rx_alloc gives them: two per page, a page each with XDP); page_pool_ethtool_stats_get_strings',
    },
    rxBufferBytes: 2048,
    speedsGbps: [1, 10, 25, 40, 50, 100, 200, 400, 800],
    speedsSource: 'Ethernet rates of IEEE 802.3 (a generic NIC of any class)',
    flowControl: {
      // Like mlx5 (UNVERIFIED: firmware default pause on): it drops at the queue
      // (rx_out_of_buffer), so its PAUSE frames come from port-buffer pressure the model has not.
      rx: true,
      tx: true,
      autoneg: true,
      dropEn: 'always',
      rxPacketBufferKb: 448,
      counters: { txXon: null, txXoff: 'tx_pause_ctrl_phy', rxXon: null, rxXoff: 'rx_pause_ctrl_phy' },
      source: 'mlx5/core/en_stats.c: pport_per_prio_pfc_stats_desc (tx_pause_ctrl_phy)',
    },
  },
};

export const DRIVER_NAMES = Object.keys(DRIVERS) as DriverName[];
