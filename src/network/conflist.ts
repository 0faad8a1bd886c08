// A runt network is a CNI configuration list (cniVersion 1.0.0): bridge with host-local IPAM, then
// portmap (published ports), firewall (lets the bridge's traffic through FORWARD) and tuning.
// runt's own fields (internal, created) sit under "runt", which libcni and the plugins ignore.
import { native } from '../native.js';
import { formatIp, formatSubnet, type Subnet } from './subnet.js';

export const CNI_VERSION = '1.0.0';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  runt?: { internal: boolean; created: string; subnet: string; gateway: string; bridge: string };
}

/** Linux limits interface names to 15 bytes. */
export function bridgeName(network: string, isDefault: boolean): string {
  if (isDefault) return 'runt0';
  const plain = `runt-${network}`;
  if (plain.length <= 15 && /^[a-z0-9-]+$/.test(network)) return plain;
  return `runt-${native().sha256(Buffer.from(network)).slice(0, 10)}`;
}

export function buildConflist(o: {
  name: string;
  subnet: Subnet;
  gateway: number;
  internal: boolean;
  bridge: string;
  ipamDir: string;
}): Conflist {
  return {
    cniVersion: CNI_VERSION,
    name: o.name,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: true,
        // An internal network has no way out: no masquerading and no default route.
        ipMasq: !o.internal,
        hairpinMode: true,
        capabilities: { ips: true },
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: formatSubnet(o.subnet), gateway: formatIp(o.gateway) }]],
          routes: o.internal ? [] : [{ dst: '0.0.0.0/0' }],
          dataDir: o.ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall', backend: 'iptables' },
      { type: 'tuning' },
    ],
    runt: {
      internal: o.internal,
      created: new Date().toISOString(),
      subnet: formatSubnet(o.subnet),
      gateway: formatIp(o.gateway),
      bridge: o.bridge,
    },
  };
}
