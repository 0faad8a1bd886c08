// Networks kept in runt's store: <store>/networks/NAME.conflist (the CNI configuration list),
// NAME.lock (serialises plugin calls), ipam/ (host-local's data directory: one file per leased
// address), users/NAME/ (one file per container attached, so `network rm` can refuse).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import { native } from '../native.js';
import { bridgeName, buildConflist, type Conflist } from './conflist.js';
import { firstHost, formatSubnet, nextFreeSubnet, overlaps, parseIp, parseSubnet, contains, formatIp, type Subnet } from './subnet.js';

export const DEFAULT_NETWORK = 'runt';

export interface NetworkCreateOptions {
  subnet?: string;
  gateway?: string;
  internal?: boolean;
}

export interface NetworkUser {
  root: string;
  id: string;
}

export class NetworkNotFoundError extends RuntError {
  constructor(readonly network: string) {
    super('ENOTFOUND_NETWORK', `network "${network}" does not exist (runt network create ${network})`);
  }
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkNetworkName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > 64) {
    throw new RuntError(
      'EINVALID_ARGUMENT',
      `invalid network name "${name}": use letters, digits, '_', '.' and '-' (starting with a letter or digit)`,
    );
  }
}

export class NetworkStore {
  readonly dir: string;

  constructor(store: string) {
    this.dir = join(store, 'networks');
  }

  get ipamDir(): string {
    return join(this.dir, 'ipam');
  }

  file(name: string): string {
    return join(this.dir, `${name}.conflist`);
  }

  lockFile(name: string): string {
    return join(this.dir, `${name}.lock`);
  }

  create(name: string, opts: NetworkCreateOptions = {}): Conflist {
    checkNetworkName(name);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const others = this.list();
    if (others.some((n) => n.name === name)) throw new RuntError('EEXIST_NETWORK', `network "${name}" already exists`);
    const taken = others.map((n) => ({ name: n.name, subnet: parseSubnet(n.runt?.subnet ?? '', 'subnet') }));
    let subnet: Subnet;
    if (opts.subnet) {
      subnet = parseSubnet(opts.subnet);
      const clash = taken.find((t) => overlaps(t.subnet, subnet));
      if (clash)
        throw new RuntError(
          'EINVALID_ARGUMENT',
          `--subnet ${opts.subnet} overlaps network "${clash.name}" (${formatSubnet(clash.subnet)})`,
        );
    } else {
      subnet = nextFreeSubnet(
        taken.map((t) => t.subnet),
        name === DEFAULT_NETWORK ? 0 : 1,
      );
    }
    let gateway = firstHost(subnet);
    if (opts.gateway) {
      const g = parseIp(opts.gateway);
      if (g === null || !contains(subnet, g) || g === subnet.base)
        throw new RuntError('EINVALID_ARGUMENT', `--gateway ${opts.gateway}: not a host address of ${formatSubnet(subnet)}`);
      gateway = g;
    }
    const bridge = bridgeName(name, name === DEFAULT_NETWORK);
    const clashBridge = others.find((n) => n.runt?.bridge === bridge);
    if (clashBridge)
      throw new RuntError('EINVALID_ARGUMENT', `network "${name}": its bridge name ${bridge} is taken by network "${clashBridge.name}"`);
    const list = buildConflist({ name, subnet, gateway, internal: opts.internal ?? false, bridge, ipamDir: this.ipamDir });
    const tmp = `${this.file(name)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o600 });
    // link-like publish: fails if another create won the race
    try {
      if (existsSync(this.file(name))) throw new RuntError('EEXIST_NETWORK', `network "${name}" already exists`);
      renameSync(tmp, this.file(name));
    } finally {
      rmSync(tmp, { force: true });
    }
    return list;
  }

  /** The network, creating the default one on first use. */
  get(name: string): Conflist {
    checkNetworkName(name);
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as Conflist;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new RuntError('EINVALID_NETWORK', `network "${name}": ${this.file(name)}: ${(e as Error).message}`);
    }
    if (name !== DEFAULT_NETWORK) throw new NetworkNotFoundError(name);
    try {
      return this.create(name);
    } catch (e) {
      if ((e as RuntError).code === 'EEXIST_NETWORK') return this.get(name);
      throw e;
    }
  }

  /** The network as get() would return it, without creating the default one (explain). */
  peek(name: string): Conflist {
    checkNetworkName(name);
    if (existsSync(this.file(name)) || name !== DEFAULT_NETWORK) return this.get(name);
    const taken = this.list().map((n) => parseSubnet(n.runt?.subnet ?? '', 'subnet'));
    const subnet = nextFreeSubnet(taken, 0);
    return buildConflist({
      name,
      subnet,
      gateway: firstHost(subnet),
      internal: false,
      bridge: bridgeName(name, true),
      ipamDir: this.ipamDir,
    });
  }

  list(): Conflist[] {
    let names: string[];
    try {
      names = readdirSync(this.dir)
        .filter((f) => f.endsWith('.conflist'))
        .sort();
    } catch {
      return [];
    }
    const out: Conflist[] = [];
    for (const f of names) {
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Conflist);
      } catch {
        /* being written */
      }
    }
    return out;
  }

  users(name: string): NetworkUser[] {
    const dir = join(this.dir, 'users', name);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return [];
    }
    const live: NetworkUser[] = [];
    for (const f of files) {
      let u: NetworkUser;
      try {
        u = JSON.parse(readFileSync(join(dir, f), 'utf8')) as NetworkUser;
      } catch {
        continue;
      }
      if (existsSync(join(u.root, u.id))) live.push(u);
      else rmSync(join(dir, f), { force: true });
    }
    return live;
  }

  addUser(name: string, u: NetworkUser): void {
    const dir = join(this.dir, 'users', name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, userFile(u)), JSON.stringify(u), { mode: 0o600 });
  }

  removeUser(name: string, u: NetworkUser): void {
    try {
      unlinkSync(join(this.dir, 'users', name, userFile(u)));
    } catch {
      /* gone */
    }
  }

  remove(name: string): void {
    checkNetworkName(name);
    if (!existsSync(this.file(name))) throw new NetworkNotFoundError(name);
    const users = this.users(name);
    if (users.length)
      throw new RuntError('EBUSY_NETWORK', `network "${name}" is in use by container ${users.map((u) => `"${u.id}"`).join(', ')}`);
    unlinkSync(this.file(name));
    rmSync(this.lockFile(name), { force: true });
    rmSync(join(this.dir, 'users', name), { recursive: true, force: true });
    rmSync(join(this.ipamDir, name), { recursive: true, force: true });
  }
}

function userFile(u: NetworkUser): string {
  const hex = native().sha256(Buffer.from(`${u.root}\0${u.id}`));
  return `${hex.slice(0, 24)}.json`;
}

export { formatIp };
