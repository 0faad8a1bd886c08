// Bundles for the explain and trace tests: one config that uses every field runt supports (without a
// user namespace), and the helpers that run `explain` and `run --trace` on it.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Hook, Spec } from '../src/spec/types.js';
import { describe, makeBundle, type Bundle, type StateRoot } from './helpers/index.js';

export interface PlanStep {
  index: number;
  op: string;
  field: string;
  process: string;
  args: Record<string, unknown>;
}
export interface TraceRecord {
  index: number;
  op: string;
  field: string;
  result: string;
  usec: number;
  errno: string | null;
  message: string | null;
  hint: string | null;
}

const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'];

function hookScript(b: Bundle, name: string): string {
  const path = join(b.dir, name);
  writeFileSync(path, '#!/bin/sh\ncat > /dev/null\n');
  chmodSync(path, 0o755);
  return path;
}

/** Every config field runt acts on, except a user namespace, a terminal and joined namespaces. */
export function everyFieldBundle(t: Test, args: string | string[] = 'echo hello from $(hostname)'): Bundle {
  return makeBundle(t, args, (s: Spec, b: Bundle) => {
    const p = s.process!;
    const linux = s.linux!;
    s.hostname = 'explain-host';
    s.domainname = 'explain.test';
    s.annotations = { 'org.example/purpose': 'explain test' };
    p.user = { uid: 1000, gid: 1000, umask: 0o027, additionalGids: [10, 20] };
    p.cwd = '/tmp';
    p.env = [PATH, 'FOO=bar'];
    p.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    ];
    p.oomScoreAdj = 100;
    p.capabilities = { bounding: CAPS, effective: CAPS, permitted: CAPS, inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
    p.noNewPrivileges = true;
    s.mounts!.push(
      { destination: '/data', type: 'bind', source: b.hostDir('data'), options: ['rbind', 'ro', 'nosuid', 'rprivate'] },
      { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777', 'noexec'] },
    );
    linux.namespaces!.push({ type: 'cgroup' });
    linux.rootfsPropagation = 'private';
    linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '16384' };
    linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
    linux.resources = { ...linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 64 }, cpu: { shares: 512 } };
    linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['swapon', 'swapoff'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const host = hookScript(b, 'hook.sh');
    const h = (path: string): Hook => ({ path, args: [path], env: [PATH] });
    s.hooks = {
      prestart: [h(host)],
      createRuntime: [h(host)],
      createContainer: [h(host)],
      // After pivot_root: a path inside the rootfs.
      startContainer: [h('/bin/true')],
      poststart: [h(host)],
      poststop: [h(host)],
    };
  });
}

/** `runt explain --format json` of a bundle, parsed. */
export function explainJson(root: StateRoot, b: Bundle, id: string, extra: string[] = []): { steps: PlanStep[] } & Record<string, unknown> {
  const r = root.runt(['explain', '--bundle', b.dir, '--id', id, '--format', 'json', ...extra]);
  if (r.code !== 0) throw new Error(`explain failed: ${describe(r)}`);
  return JSON.parse(r.stdout) as { steps: PlanStep[] } & Record<string, unknown>;
}

/** `runt --log F --log-format json run --trace`: the result and the trace records from the log. */
export function runTraced(root: StateRoot, b: Bundle, id: string, opts: { command?: 'run' | 'create'; extra?: string[] } = {}) {
  const command = opts.command ?? 'run';
  const log = join(b.dir, `${id}.log`);
  const args = ['--log', log, '--log-format', 'json', command, ...(opts.extra ?? []), '--bundle', b.dir, '--trace', id];
  const r =
    command === 'create'
      ? root.runt(args, { stdoutFile: join(b.dir, `${id}.out`), stderrFile: join(b.dir, `${id}.err`) })
      : root.runt(args);
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    /* no log */
  }
  const records = text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { trace?: TraceRecord })
    .filter((l) => l.trace)
    .map((l) => l.trace!);
  return { result: r, records };
}
