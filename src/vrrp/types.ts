/**
 * The engine's input: a resolved description of one router (a host) with its
 * VRRP instances, tracked scripts and sync groups. Produced from
 * keepalived.conf by `toRouterSpec`, or built directly by an embedder (the
 * cluster daemon's FloatIP: one instance per VIP, priority set by placement).
 */
import type { Family } from './addr.js';
import type { VrrpVersion } from './packet.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface VipSpec {
  address: string;
  prefix: number;
  family: Family;
  /** Interface the address goes on (default: the instance's interface). */
  dev: string;
  label?: string;
  /** `ip addr add … preferred_lft`: 0 keeps the address from being a source address (an IPv6 DR director's VIP). */
  preferredLft?: string;
}

export interface TrackedScript {
  script: string;
  /** Effective weight for this instance (instance override or the script's own). */
  weight: number;
}

export interface TrackedInterface {
  name: string;
  /** 0: link down puts the instance in FAULT; otherwise priority adjustment. */
  weight: number;
}

export interface InstanceSpec {
  name: string;
  interface: string;
  vrid: number;
  version: VrrpVersion;
  family: Family;
  /** Configured priority 1..255 (255: address owner). */
  priority: number;
  /** Advertisement interval in centiseconds. */
  advertIntCs: number;
  /** keepalived `state`: only the log differs; elections decide. */
  initialState: 'MASTER' | 'BACKUP';
  preempt: boolean;
  preemptDelayMs: number;
  authPass?: string;
  vips: VipSpec[];
  /** Source address of our adverts (unicast_src_ip, mcast_src_ip or the interface's address). */
  primaryAddress: string;
  /** Unicast peers; empty means multicast to `mcastGroup`. */
  peers: string[];
  /** keepalived `unicast_ttl`: TTL / hop limit of unicast adverts (default 255). */
  unicastTtl?: number;
  /**
   * keepalived `unicast_peer { ADDR min_ttl N max_ttl M }`: the TTL range a
   * peer's adverts must arrive with. Unicast adverts are otherwise not
   * checked for TTL 255 (keepalived: "but not if unicast"), as they may be routed.
   */
  peerTtl?: Record<string, { min: number; max: number }>;
  mcastGroup: string;
  trackScripts: TrackedScript[];
  trackInterfaces: TrackedInterface[];
  /** keepalived track_file: value × weight (weight 0: non-zero value = FAULT). */
  trackFiles?: { name: string; weight: number; reverse?: boolean }[];
  /** keepalived track_process: weight applies while ≥ quorum processes run (weight 0: FAULT when not). */
  trackProcesses?: { name: string; weight: number; quorum: number; quorumMax?: number; reverse?: boolean }[];
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  garpMasterRefreshMs: number;
  /** Announcements per refresh (keepalived garp_master_refresh_repeat, default 1). */
  garpMasterRefreshRepeat?: number;
  /** MASTER hearing a lower-priority master: announcements now (default garpMasterRepeat) and again after this delay (default garpMasterDelayMs). */
  garpLowerPrioRepeat?: number;
  garpLowerPrioDelayMs?: number;
  /** Spacing of repeated announcements (keepalived vrrp_garp_interval / vrrp_gna_interval). */
  garpIntervalMs?: number;
  /**
   * VRRPv3 over IPv4: checksum without the pseudo-header, as VRRPv2 does
   * (`v3_checksum_as_v2`, for routers that compute it that way).
   */
  v3ChecksumAsV2?: boolean;
  /** keepalived `old_unicast_checksum`: 'send' computes unicast v3 checksums over the multicast group; 'never' refuses them on receipt. */
  oldUnicastChecksum?: 'auto' | 'send' | 'never';
  /**
   * keepalived use_vmac: a macvlan NAME on `base` with the virtual MAC; the
   * VIPs go on it and (without vmac_xmit_base) the adverts leave from it.
   */
  vmac?: { name: string; mac: string; base: string };
  /**
   * Interface adverts are sent and received on, when not `interface`
   * (use_vmac: the macvlan, or its base with vmac_xmit_base).
   */
  xmitInterface?: string;
  /** keepalived `strict_mode` / `vrrp_strict`: drop adverts whose address list differs from ours. */
  strict?: boolean;
}

export interface ScriptSpec {
  name: string;
  /** argv, already split from keepalived's `script "..."` string. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  fall: number;
  rise: number;
  initFail: boolean;
}

export interface SyncGroupSpec {
  name: string;
  members: string[];
}

export interface TimingOptions {
  /**
   * Fraction of the RFC Skew_Time added to 3 × Master_Adver_Interval for the
   * master-down timer once a master has been heard (a failover). 1 is the
   * RFC; belay defaults to 0.25: the skew only orders backups by priority,
   * and a quarter keeps that order while cutting the crash failover. The
   * first election (nothing heard yet) always uses the RFC's full skew.
   */
  downSkewScale: number;
  /**
   * Fraction of Skew_Time a backup waits after a priority-0 advert (RFC: 1)
   * or before preempting a lower-priority master (RFC: a whole
   * Master_Down_Interval). Priority-ordered, so several backups still agree.
   */
  fastSkewScale: number;
}

export const DEFAULT_TIMING: TimingOptions = { downSkewScale: 0.25, fastSkewScale: 1 / 16 };

export interface RouterSpec {
  routerId: string;
  instances: InstanceSpec[];
  scripts: ScriptSpec[];
  syncGroups: SyncGroupSpec[];
  timing?: Partial<TimingOptions>;
  /** Files the engine watches for track_file (init: create with this value). */
  trackFiles?: { name: string; path: string; init?: { value: number; overwrite: boolean } }[];
  /** Processes the engine counts for track_process (by name, optionally with parameters). */
  trackProcesses?: {
    name: string;
    process: string;
    params?: string[];
    paramMatch?: 'exact' | 'initial' | 'partial';
    fullCommand?: boolean;
    quorum: number;
    quorumMax?: number;
    forkDelayMs?: number;
    terminateDelayMs?: number;
  }[];
  /** keepalived notify_fifo: `INSTANCE "VI_1" MASTER 100` lines; the script gets the FIFO's path. */
  notifyFifo?: { path: string; script?: string };
}
