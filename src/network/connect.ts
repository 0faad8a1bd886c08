// `network connect` / `disconnect`: a running (or created) container joins or leaves a network.
// The same ADD/DEL chains as at create, in the init's network namespace; the container's
// /etc/hosts is rewritten in place.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContainerNotFoundError, InvalidStateError, RuntError } from '../errors.js';
import type { RuntimeContext } from '../lifecycle/context.js';
import type { SavedState } from '../state/store.js';
import { statusOf } from '../lifecycle/status.js';
import { storeRoot } from '../store-root.js';
import {
  addressesOf,
  chainCall,
  cniPathOf,
  cniTimeoutOf,
  netnsForDel,
  pinNetns,
  readRecord,
  writeEtcFiles,
  writeRecord,
  type NetworkRecord,
} from './attach.js';
import { addChain, delChain } from './chain.js';
import { etcFile } from './etc-files.js';
import { findPlugin } from './plugin.js';
import { NetworkStore } from './store.js';
import { contains, parseIp, parseSubnet } from './subnet.js';

export interface ConnectOptions {
  ip?: string;
  cniPath?: string[];
  cniTimeoutMs?: number;
}

/** The store the container was created with (its networks' leases and locks are there). */
function storeOf(ctx: RuntimeContext, id: string): string {
  let saved;
  try {
    saved = ctx.store.read(id);
  } catch {
    /* reported by withContainer */
  }
  return saved?.store ?? ctx.storeDir ?? storeRoot();
}

async function withContainer<T>(
  ctx: RuntimeContext,
  id: string,
  fn: (pid: number, dir: string, saved: SavedState) => Promise<T>,
): Promise<T> {
  const lock = await ctx.store.lockAsync(id);
  try {
    const saved = ctx.store.read(id);
    if (!saved) throw new ContainerNotFoundError(id);
    const status = statusOf(ctx.store, saved);
    if (status !== 'running' && status !== 'created' && status !== 'paused')
      throw new InvalidStateError(`container "${id}" is ${status}: only a created or running container can join or leave a network`);
    const result = await fn(saved.pid, ctx.store.dir(id), saved);
    const record = readRecord(ctx.store.dir(id));
    saved.networks = record?.attachments.map((a) => ({ network: a.network, ifname: a.ifname, addresses: a.addresses, mac: a.mac }));
    ctx.store.write(saved);
    return result;
  } finally {
    lock.release();
  }
}

export function connectNetwork(ctx: RuntimeContext, id: string, network: string, opts: ConnectOptions = {}): Promise<string[]> {
  const storeDir = storeOf(ctx, id);
  const user = { root: resolve(ctx.store.root), id };
  return withContainer(ctx, id, async (pid, dir, saved) => {
    const store = new NetworkStore(storeDir);
    saved.store ??= storeDir;
    const config = store.get(network);
    const record: NetworkRecord = readRecord(dir) ?? {
      cniPath: cniPathOf(opts.cniPath),
      timeoutMs: cniTimeoutOf(opts.cniTimeoutMs),
      ports: [],
      hostname: saved.spec.hostname || id,
      attachments: [],
    };
    if (opts.cniPath?.length) record.cniPath = opts.cniPath;
    if (record.attachments.some((a) => a.network === network))
      throw new RuntError('EINVALID_ARGUMENT', `container "${id}" is already on network "${network}"`);
    for (const p of config.plugins) findPlugin(p.type, record.cniPath);
    if (opts.ip) {
      const ip = parseIp(opts.ip);
      if (ip === null || (config.runt && !contains(parseSubnet(config.runt.subnet, 'subnet'), ip)))
        throw new RuntError('EINVALID_ARGUMENT', `--ip ${opts.ip}: not an address in network "${network}"`);
    }
    let n = 0;
    while (record.attachments.some((a) => a.ifname === `eth${n}`)) n++;
    const netns = `/proc/${pid}/ns/net`;
    const a: NetworkRecord['attachments'][number] = {
      network,
      ifname: `eth${n}`,
      config,
      result: null,
      addresses: [],
      netnsIno: pinNetns(dir, pid),
      runtimeConfig: { ips: opts.ip ? [opts.ip] : undefined },
    };
    record.attachments.push(a);
    store.addUser(network, user);
    writeRecord(dir, record);
    try {
      a.result = await addChain(config, {
        ...chainCall(record, a, store, id, netns),
        onResult: (r) => {
          a.result = r;
          writeRecord(dir, record);
        },
      });
    } catch (e) {
      record.attachments = record.attachments.filter((x) => x !== a);
      writeRecord(dir, record);
      store.removeUser(network, user);
      throw e;
    }
    Object.assign(a, addressesOf(a.result, a.ifname));
    writeRecord(dir, record);
    if (existsSync(etcFile(dir, 'hosts'))) writeEtcFiles(dir, record);
    return a.addresses;
  });
}

export function disconnectNetwork(ctx: RuntimeContext, id: string, network: string): Promise<void> {
  const storeDir = storeOf(ctx, id);
  const user = { root: resolve(ctx.store.root), id };
  return withContainer(ctx, id, async (pid, dir) => {
    const record = readRecord(dir);
    const a = record?.attachments.find((x) => x.network === network);
    if (!record || !a) throw new RuntError('EINVALID_ARGUMENT', `container "${id}" is not on network "${network}"`);
    const store = new NetworkStore(storeDir);
    const netns = netnsForDel([pid], a.netnsIno, dir);
    const failures = await delChain(a.config, chainCall(record, a, store, id, netns), a.result ?? undefined);
    if (failures.length) throw new RuntError('ECNI', failures[0]);
    record.attachments = record.attachments.filter((x) => x !== a);
    writeRecord(dir, record);
    store.removeUser(network, user);
    if (existsSync(etcFile(dir, 'hosts'))) writeEtcFiles(dir, record);
  });
}
