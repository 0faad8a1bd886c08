// The long-lived shims a containerd (named by its socket) started, found in /proc: runt's is the
// Node process its front's `start` became; containerd's runc shim is the one not run as `start`.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Their pids: runt's shims only, or runc's too (`all`). */
export function shimPids(sock: string, which: 'runt' | 'all'): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (!cmd.includes(`-address\0${sock}\0`)) return false;
        if (cmd.includes('containerd-shim-runt-v2')) return readlinkSync(`/proc/${p}/exe`).endsWith('/node');
        return which === 'all' && cmd.includes('containerd-shim-runc-v2') && !cmd.includes('\0start');
      } catch {
        return false;
      }
    });
}
