/**
 * The VRRP piece's public API, for `belay keepalived` and for the cluster
 * daemon's FloatIP (one instance per VIP, priority from placement):
 *
 *   const engine = new VrrpEngine({ spec: { routerId, instances: [floatIpInstance(...)], scripts: [], syncGroups: [] } });
 *   engine.onStateChange(({ instance, state }) => ...);
 *   await engine.start();  engine.setPriority('FloatIP', 200);  await engine.stop();
 */
export { VrrpRouter, type VrrpEvent, type VrrpAction, type RouterStatus, type InstanceStatus, type ScriptStatus } from './core.js';
export { VrrpEngine, type EngineOptions, type StateChange } from './engine.js';
export { UdpTransport, VRRP_UDP_PORT, type VrrpTransport, type Membership, type ReceivedPacket } from './transport.js';
export { IpNetOps, runCommand, type NetOps } from './netops.js';
export { encodeAdvertisement, decodeAdvertisement, VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from './packet.js';
export { parseKeepalivedConf, toRouterSpec, ConfigError, type KeepalivedConfig } from './keepalived-conf.js';
export { fsConfigSource } from './conf-fs.js';
export { DEFAULT_TIMING, type RouterSpec, type InstanceSpec, type VipSpec, type ScriptSpec, type VrrpState } from './types.js';
import type { InstanceSpec } from './types.js';
import { familyOf } from './addr.js';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from './packet.js';

/** A FloatIP holder's VRRP priority unless its `priority` parameter says otherwise. */
export const FLOATIP_DEFAULT_PRIORITY = 254;

/**
 * How long a stopped FloatIP keeps its address waiting for the next holder
 * to be heard (make-before-break): belayd's VipManager, and the simulator's.
 */
export const FLOATIP_HANDOVER_MS = 1_500;

/**
 * One VRRPv3 instance holding one floating IP, with keepalived's defaults:
 * what FloatIP needs (the cluster steers `priority` with setPriority).
 */
export function floatIpInstance(o: {
  name: string;
  vrid: number;
  interface: string;
  primaryAddress: string;
  vip: string;
  prefix?: number;
  priority?: number;
  advertIntMs?: number;
  peers?: string[];
  preempt?: boolean;
  /** VRRP version (default 3); 2 carries `authPass` (keepalived's auth_type PASS) and whole-second intervals. */
  version?: 2 | 3;
  authPass?: string;
}): InstanceSpec {
  const family = familyOf(o.vip);
  if (family === null) throw new Error(`floatIpInstance: '${o.vip}' is not an IP address`);
  return {
    name: o.name,
    interface: o.interface,
    vrid: o.vrid,
    version: family === 6 ? 3 : (o.version ?? 3),
    family,
    priority: o.priority ?? 100,
    advertIntCs: o.version === 2 && family === 4 ? Math.max(1, Math.ceil((o.advertIntMs ?? 1000) / 1000)) * 100 : Math.max(1, Math.round((o.advertIntMs ?? 1000) / 10)),
    ...(o.version === 2 && family === 4 && o.authPass !== undefined ? { authPass: o.authPass.slice(0, 8) } : {}),
    initialState: 'BACKUP',
    preempt: o.preempt ?? true,
    preemptDelayMs: 0,
    vips: [{ address: o.vip, prefix: o.prefix ?? (family === 4 ? 32 : 128), family, dev: o.interface }],
    primaryAddress: o.primaryAddress,
    peers: o.peers ?? [],
    mcastGroup: family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6,
    trackScripts: [],
    trackInterfaces: [],
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
  };
}
