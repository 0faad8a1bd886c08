// A network namespace (and mount namespace) the test makes for itself: a holder process started
// under `unshare --net --mount --propagation private` keeps them alive, and every command that
// touches networking (runt with CNI plugins, ip, iptables, wget) runs in them through
// `nsenter -t HOLDER -n -m`. Bridges, veths, iptables rules and ip_forward exist only there; the
// holder is killed (by pid) at teardown and the namespace goes with everything in it.
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Test } from 'tap';
import { onTeardown } from './cleanup.js';
import { waitFor } from './poll.js';

export interface NetNs {
  pid: number;
  /** Prefix for a command to run inside: nsenter -t PID -n -m --. */
  wrap: string[];
  /** Run a command inside and return its outputs. */
  run(cmd: string[], timeoutMs?: number): { code: number | null; stdout: string; stderr: string };
}

/** What the host lacks for network tests, or undefined when they can run. */
export function netnsMissing(): string | undefined {
  for (const [tool, args] of [
    ['unshare', ['--version']],
    ['nsenter', ['--version']],
    ['ip', ['-V']],
    ['iptables', ['--version']],
  ] as const) {
    const r = spawnSync(tool, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} is not installed`;
  }
  if (process.getuid?.() !== 0) return 'needs root';
  return undefined;
}

export async function makeNetNs(t: Test): Promise<NetNs> {
  const holder = spawn('unshare', ['--net', '--mount', '--propagation', 'private', 'sleep', '100000'], { stdio: 'ignore' });
  const pid = holder.pid!;
  onTeardown(t, () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const mine = readlinkSync('/proc/self/ns/net');
  await waitFor('the test network namespace', () => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) !== mine && readlinkSync(`/proc/${pid}/exe`).endsWith('sleep');
    } catch {
      return false;
    }
  });
  const wrap = ['nsenter', '-t', String(pid), '-n', '-m', '--'];
  const run = (cmd: string[], timeoutMs = 30_000) => {
    const r = spawnSync(wrap[0], [...wrap.slice(1), ...cmd], { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const lo = run(['ip', 'link', 'set', 'lo', 'up']);
  if (lo.code !== 0) throw new Error(`lo up in the test namespace: ${lo.stderr}`);
  return { pid, wrap, run };
}
