// A container on its networks. Before the init is spawned: the networks are looked up (the default
// one made on first use), the plugins found, the host ports claimed and the /etc files created
// (their bind mounts are in the plan). At the plan's NETWORK sync (the network namespace exists,
// nothing is mounted yet): ADD for each network, each result cached in <state>/networks.json
// before and after the call, so that delete (even after a crash of runt) knows what to DEL. On
// delete, and on any failure after an ADD: DEL for each, in reverse order.
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { native } from '../native.js';
import { MS } from '../plan/constants.js';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { addChain, delChain, type ChainCall, type RuntimeConfig } from './chain.js';
import type { Conflist } from './conflist.js';
import { etcFile, ETC_FILES, hostsText, resolvText, writeInPlace } from './etc-files.js';
import { DEFAULT_CNI_PATH, DEFAULT_TIMEOUT_MS, findPlugin } from './plugin.js';
import { parsePort, PortRegistry, type PortMapping } from './ports.js';
import { contains, parseIp, parseSubnet } from './subnet.js';
import { DEFAULT_NETWORK, NetworkStore, type NetworkUser } from './store.js';

export interface NetworkRequests {
  /** Network names; [] or undefined with ports: the default network. */
  networks?: string[];
  ports?: Array<string | PortMapping>;
  /** A fixed IPv4 address on the first network. */
  ip?: string;
  cniPath?: string[];
  cniTimeoutMs?: number;
}

export interface Attachment {
  network: string;
  ifname: string;
  /** The configuration list ADD used: DEL uses the same, even if the network changed since. */
  config: Conflist;
  runtimeConfig: RuntimeConfig;
  /** The cached ADD result (prevResult of DEL); null before ADD finished. */
  result: Record<string, unknown> | null;
  addresses: string[];
  mac?: string;
  /** Inode of the network namespace ADD ran in: DEL uses /proc/PID/ns/net only if it is the same. */
  netnsIno?: number;
}

export interface NetworkRecord {
  cniPath: string[];
  timeoutMs: number;
  ports: PortMapping[];
  hostname: string;
  attachments: Attachment[];
}

const RECORD = 'networks.json';

export function readRecord(stateDir: string): NetworkRecord | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, RECORD), 'utf8')) as NetworkRecord;
  } catch {
    return null;
  }
}

export function writeRecord(stateDir: string, r: NetworkRecord): void {
  const file = join(stateDir, RECORD);
  writeFileSync(`${file}.tmp`, JSON.stringify(r), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function cniPathOf(given?: string[]): string[] {
  if (given?.length) return given;
  const env = process.env.RUNT_CNI_PATH;
  return env ? env.split(':').filter(Boolean) : DEFAULT_CNI_PATH;
}

export function cniTimeoutOf(given?: number): number {
  if (given && given > 0) return given;
  const env = Number(process.env.RUNT_CNI_TIMEOUT_MS);
  return env > 0 ? env : DEFAULT_TIMEOUT_MS;
}

type SpecMount = NonNullable<Spec['mounts']>[number];

export interface PreparedNetworks {
  record: NetworkRecord;
  mounts: Array<{ mount: SpecMount; field: string; sourceKind?: 'dir' | 'file' }>;
  /** For the plan's sync step: which calls run there. */
  why: string;
}

export const wantsNetwork = (req: NetworkRequests) => (req.networks?.length ?? 0) > 0 || (req.ports?.length ?? 0) > 0 || !!req.ip;

/** Everything before the init exists. On failure nothing is left claimed. */
export function prepareNetworks(
  storeDir: string,
  user: NetworkUser,
  stateDir: string,
  spec: Spec,
  req: NetworkRequests,
  dryRun = false,
): PreparedNetworks {
  const store = new NetworkStore(storeDir);
  const names = req.networks?.length ? req.networks : [DEFAULT_NETWORK];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new RuntError('EINVALID_ARGUMENT', `--network ${dup}: given twice`);
  const lists = names.map((n) => (dryRun ? store.peek(n) : store.get(n)));
  const cniPath = cniPathOf(req.cniPath);
  for (const l of lists)
    for (const p of l.plugins) {
      try {
        findPlugin(p.type, cniPath);
      } catch (e) {
        throw new RuntError('ECNI', `network "${l.name}": ${(e as Error).message}`);
      }
    }
  const ports = (req.ports ?? []).map(parsePort);
  if (req.ip) {
    const ip = parseIp(req.ip);
    const subnet = lists[0].runt?.subnet;
    if (ip === null) throw new RuntError('EINVALID_ARGUMENT', `--ip ${req.ip}: not an IPv4 address`);
    if (subnet && !contains(parseSubnet(subnet, 'subnet'), ip))
      throw new RuntError('EINVALID_ARGUMENT', `--ip ${req.ip}: not in network "${lists[0].name}" (${subnet})`);
  }
  const hostname = spec.hostname || user.id.slice(0, 63);
  const record: NetworkRecord = {
    cniPath,
    timeoutMs: cniTimeoutOf(req.cniTimeoutMs),
    ports,
    hostname,
    attachments: lists.map((config, i) => ({
      network: config.name,
      ifname: `eth${i}`,
      config,
      result: null,
      addresses: [],
      // Published ports and --ip belong to the first network (one DNAT per host port).
      runtimeConfig: { portMappings: i === 0 ? ports : [], ips: i === 0 && req.ip ? [req.ip] : undefined },
    })),
  };
  const calls = lists.map((l, i) => `${l.name} (eth${i}): ${l.plugins.map((p) => p.type).join(' → ')}`).join('; ');
  const why = `runtime runs CNI ADD: ${calls}; then writes /etc/hosts, /etc/hostname, /etc/resolv.conf`;
  const mounted = new Set((spec.mounts ?? []).map((m) => m.destination.replace(/\/+$/, '')));
  const etcMounts = ETC_FILES.filter((f) => !mounted.has(`/etc/${f}`)).map((f) => ({
    mount: { destination: `/etc/${f}`, type: 'bind', source: etcFile(stateDir, f), options: ['bind', 'rw'] },
    field: `networks (/etc/${f})`,
    sourceKind: 'file' as const,
  }));
  if (dryRun) return { record, mounts: etcMounts, why };
  const registry = new PortRegistry(store.dir);
  registry.claim(ports, user);
  try {
    for (const n of names) store.addUser(n, user);
    writeRecord(stateDir, record);
    for (const f of ETC_FILES) writeInPlace(etcFile(stateDir, f), '');
    return { record, mounts: etcMounts, why };
  } catch (e) {
    for (const n of names) store.removeUser(n, user);
    registry.release(ports, user);
    throw e;
  }
}

/** What every CNI call for attachment `a` of a container shares: its namespace, interface, the
 *  plugins' path and time limit, the runtime config and the network's lock. */
export function chainCall(record: NetworkRecord, a: Attachment, store: NetworkStore, containerId: string, netns: string): ChainCall {
  return {
    containerId,
    netns,
    ifname: a.ifname,
    cniPath: record.cniPath,
    timeoutMs: record.timeoutMs,
    runtimeConfig: a.runtimeConfig,
    lockFile: store.lockFile(a.network),
  };
}

export type CallReport = (e: { network: string; command: string; plugin: string; usec: number; error?: string }) => void;

/** At the NETWORK sync: ADD on every network, then the /etc files. Throws the first failure (the
 *  failed network is undone already; the caller detaches the others). */
export async function addNetworks(
  storeDir: string,
  stateDir: string,
  containerId: string,
  pid: number,
  onCall?: CallReport,
): Promise<NetworkRecord> {
  const record = readRecord(stateDir);
  if (!record) throw new RuntError('ECNI', `container "${containerId}": its network record is missing`);
  const store = new NetworkStore(storeDir);
  const netns = `/proc/${pid}/ns/net`;
  const ino = pinNetns(stateDir, pid);
  for (const a of record.attachments) {
    a.netnsIno = ino;
    writeRecord(stateDir, record); // before ADD: a crash from here on is cleaned by delete
    a.result = await addChain(a.config, {
      ...chainCall(record, a, store, containerId, netns),
      onCall: onCall && ((e) => onCall({ network: a.network, ...e })),
      onResult: (r) => {
        a.result = r;
        writeRecord(stateDir, record);
      },
    });
    Object.assign(a, addressesOf(a.result, a.ifname));
    writeRecord(stateDir, record);
  }
  writeEtcFiles(stateDir, record);
  return record;
}

export function writeEtcFiles(stateDir: string, record: NetworkRecord): void {
  const ips = record.attachments.flatMap((a) => a.addresses.map((c) => c.split('/')[0]));
  writeInPlace(etcFile(stateDir, 'hosts'), hostsText(record.hostname, ips));
  writeInPlace(etcFile(stateDir, 'hostname'), `${record.hostname}\n`);
  const dns = record.attachments.map((a) => (a.result?.dns ?? {}) as { nameservers?: string[] });
  writeInPlace(etcFile(stateDir, 'resolv.conf'), resolvText(dns));
}

/** The container-side interface's addresses and MAC in a CNI result. */
export function addressesOf(result: Record<string, unknown>, ifname: string): { addresses: string[]; mac?: string } {
  const ifaces = (result.interfaces ?? []) as Array<{ name?: string; mac?: string; sandbox?: string }>;
  const ips = (result.ips ?? []) as Array<{ address?: string; interface?: number }>;
  const idx = ifaces.findIndex((i) => i.name === ifname && i.sandbox);
  const mine = ips.filter((ip) => ip.address && (idx < 0 || ip.interface === undefined || ip.interface === idx));
  return { addresses: mine.map((ip) => ip.address!), mac: idx >= 0 ? ifaces[idx].mac : undefined };
}

/** The bind mount that keeps the container's network namespace alive until DEL, as `ip netns`
 *  and podman do: a container that exits on its own (or a runt killed mid-create) would otherwise
 *  take the namespace with it, and the bridge plugin undoes its masquerade rules only when DEL can
 *  enter the namespace. */
export const netnsPinPath = (stateDir: string) => join(stateDir, 'netns');

/** Pin the init's network namespace (once); returns its inode. */
export function pinNetns(stateDir: string, pid: number): number {
  const ns = `/proc/${pid}/ns/net`;
  const ino = statSync(ns).ino;
  const pin = netnsPinPath(stateDir);
  try {
    if (statSync(pin).ino === ino) return ino;
  } catch {
    /* not yet */
  }
  closeSync(openSync(pin, 'a', 0o400));
  native().mount(ns, pin, '', MS.BIND, '');
  return ino;
}

export function unpinNetns(stateDir: string): void {
  const pin = netnsPinPath(stateDir);
  if (!existsSync(pin)) return;
  try {
    native().umount2(pin, 2 /* MNT_DETACH */);
  } catch {
    /* not mounted */
  }
  rmSync(pin, { force: true });
}

/** The network namespace DEL may enter: the pinned one, else that of one of `pids` (the init, or
 *  what is left in its cgroup), if it still is the one ADD ran in; else "" (the namespace is gone,
 *  and with it the container's end of the veth). */
export function netnsForDel(pids: number[], ino: number | undefined, stateDir?: string): string {
  if (ino === undefined) return '';
  if (stateDir) {
    try {
      if (statSync(netnsPinPath(stateDir)).ino === ino) return netnsPinPath(stateDir);
    } catch {
      /* not pinned */
    }
  }
  for (const pid of pids) {
    try {
      if (pid > 0 && statSync(`/proc/${pid}/ns/net`).ino === ino) return `/proc/${pid}/ns/net`;
    } catch {
      /* gone */
    }
  }
  return '';
}

/** DEL on every network (reverse order), the users and ports released, the record removed.
 *  Returns the failures as lines (delete reports them as warnings). Idempotent. */
export async function detachNetworks(
  storeDir: string,
  user: NetworkUser,
  stateDir: string,
  pids: number[],
  onCall?: CallReport,
): Promise<string[]> {
  const record = readRecord(stateDir);
  if (!record) return [];
  const store = new NetworkStore(storeDir);
  const failures: string[] = [];
  for (const a of [...record.attachments].reverse()) {
    if (a.netnsIno === undefined) {
      store.removeUser(a.network, user);
      continue;
    } // never ADDed
    failures.push(
      ...(await delChain(
        a.config,
        {
          ...chainCall(record, a, store, user.id, netnsForDel(pids, a.netnsIno, stateDir)),
          onCall: onCall && ((e) => onCall({ network: a.network, ...e })),
        },
        a.result ?? undefined,
      )),
    );
    store.removeUser(a.network, user);
  }
  new PortRegistry(store.dir).release(record.ports, user);
  unpinNetns(stateDir);
  if (failures.length === 0) rmSync(join(stateDir, RECORD), { force: true });
  return failures;
}

export const hasNetworkRecord = (stateDir: string) => existsSync(join(stateDir, RECORD));
