// Published ports: `-p HOSTPORT:PORT[/tcp|udp]` (or `-p IP:HOSTPORT:PORT`) becomes a CNI
// portMappings entry (the portmap plugin's capability). A host port is published by one container
// at a time: <store>/networks/ports/<proto>-<port> names the container holding it (created with
// O_EXCL; an entry whose container is gone is stale and taken over).
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import { parseIp } from './subnet.js';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

const badPort = (arg: string, why: string) => new RuntError('EINVALID_ARGUMENT', `-p ${arg}: ${why}`);

export function parsePort(arg: string | PortMapping): PortMapping {
  if (typeof arg !== 'string') return checkMapping(arg, `${arg.hostPort}:${arg.containerPort}/${arg.protocol}`);
  const [spec, proto = 'tcp'] = arg.split('/');
  if (proto !== 'tcp' && proto !== 'udp') throw badPort(arg, `protocol "${proto}": tcp or udp`);
  const parts = spec.split(':');
  let hostIP: string | undefined;
  if (parts.length === 3) {
    hostIP = parts.shift();
    if (parseIp(hostIP!) === null) throw badPort(arg, `"${hostIP}" is not an IPv4 address`);
  }
  if (parts.length !== 2) throw badPort(arg, 'expected HOSTPORT:PORT[/tcp|udp]');
  return checkMapping({ hostPort: Number(parts[0]), containerPort: Number(parts[1]), protocol: proto, hostIP }, arg);
}

function checkMapping(m: PortMapping, arg: string): PortMapping {
  for (const p of [m.hostPort, m.containerPort]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw badPort(arg, `port "${p}" is not 1-65535`);
  }
  if (m.protocol !== 'tcp' && m.protocol !== 'udp') throw badPort(arg, `protocol "${String(m.protocol)}": tcp or udp`);
  return m.hostIP ? m : { hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol };
}

export interface PortHolder {
  root: string;
  id: string;
}

export class PortRegistry {
  readonly dir: string;
  constructor(networksDir: string) {
    this.dir = join(networksDir, 'ports');
  }

  private file(m: PortMapping): string {
    return join(this.dir, `${m.protocol}-${m.hostPort}`);
  }

  /** Claim every mapping for the container, or none (one line naming the port taken). */
  claim(maps: PortMapping[], holder: PortHolder): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const done: PortMapping[] = [];
    try {
      for (const m of maps) {
        if (done.some((d) => d.hostPort === m.hostPort && d.protocol === m.protocol)) {
          throw new RuntError('EPORT_TAKEN', `port ${m.hostPort}/${m.protocol} is published twice on this command line`);
        }
        this.claimOne(m, holder);
        done.push(m);
      }
    } catch (e) {
      this.release(done, holder);
      throw e;
    }
  }

  private claimOne(m: PortMapping, holder: PortHolder): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.file(m), JSON.stringify(holder), { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const other = this.holder(m);
      if (other && existsSync(join(other.root, other.id))) {
        throw new RuntError('EPORT_TAKEN', `port ${m.hostPort}/${m.protocol} is already published by container "${other.id}"`);
      }
      try {
        unlinkSync(this.file(m));
      } catch {
        /* someone else took it over */
      }
    }
    throw new RuntError('EPORT_TAKEN', `port ${m.hostPort}/${m.protocol} is being published by another container`);
  }

  holder(m: PortMapping): PortHolder | null {
    try {
      return JSON.parse(readFileSync(this.file(m), 'utf8')) as PortHolder;
    } catch {
      return null;
    }
  }

  release(maps: PortMapping[], holder: PortHolder): void {
    for (const m of maps) {
      const h = this.holder(m);
      if (h && h.root === holder.root && h.id === holder.id) {
        try {
          unlinkSync(this.file(m));
        } catch {
          /* gone */
        }
      }
    }
  }
}
