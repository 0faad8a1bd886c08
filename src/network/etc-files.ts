// The files a networked container reads to know its name and how to resolve names: /etc/hosts,
// /etc/hostname and /etc/resolv.conf. runt writes them into the container's state directory and
// bind-mounts them over the image's paths (the image is never changed). Connect and disconnect
// rewrite /etc/hosts in place (the same inode, so the bind mount shows the new content).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'] as const;

export const etcFile = (stateDir: string, name: (typeof ETC_FILES)[number]) => join(stateDir, `etc-${name}`);

export function hostsText(hostname: string, addresses: string[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const a of addresses) lines.push(`${a}\t${hostname}`);
  return `${lines.join('\n')}\n`;
}

/** The nameservers the CNI result gave, else the host's (loopback ones left out: the container's
 *  loopback is its own). */
export function resolvText(
  cniDns: { nameservers?: string[]; search?: string[]; options?: string[] }[],
  hostResolv = '/etc/resolv.conf',
): string {
  const servers = cniDns.flatMap((d) => d.nameservers ?? []);
  const search = cniDns.flatMap((d) => d.search ?? []);
  const options = cniDns.flatMap((d) => d.options ?? []);
  if (servers.length === 0) {
    let host = '';
    try {
      host = readFileSync(hostResolv, 'utf8');
    } catch {
      /* none */
    }
    for (const line of host.split('\n')) {
      const [key, ...rest] = line.trim().split(/\s+/);
      if (key === 'nameserver' && rest[0] && !/^(127\.|::1$)/.test(rest[0])) servers.push(rest[0]);
      else if (key === 'search' && !search.length) search.push(...rest);
      else if (key === 'options' && !options.length) options.push(...rest);
    }
  }
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Write in place (no rename): a bind mount of the file must see the new content. */
export function writeInPlace(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o644 });
}
