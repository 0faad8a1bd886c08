// The config.json written by `runt spec`: the same document `runc spec` (runc 1.1.5) writes,
// field for field and in the same key order, except that the hostname is "runt".
// Note that runc puts the three capabilities in `ambient` without `inheritable`; the kernel will not
// raise such ambient capabilities, and runc silently carries on. Kept for byte-level parity.

import type { Mount, Spec } from './types.js';

export interface DefaultSpecOptions {
  /** Like `runc spec --rootless`: a user namespace mapping the caller's ids to root, no network
   *  namespace, no cgroup resources, /sys bind-mounted from the host. */
  rootless?: boolean;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const rootless = opts.rootless ?? false;
  const spec: Spec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...CAPS],
        effective: [...CAPS],
        permitted: [...CAPS],
        ambient: [...CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runt',
    mounts: defaultMounts(rootless),
    linux: rootless
      ? {
          uidMappings: [{ containerID: 0, hostID: process.geteuid?.() ?? 0, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: process.getegid?.() ?? 0, size: 1 }],
          namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }],
          maskedPaths: maskedPaths(),
          readonlyPaths: readonlyPaths(),
        }
      : {
          resources: { devices: [{ allow: false, access: 'rwm' }] },
          namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
          maskedPaths: maskedPaths(),
          readonlyPaths: readonlyPaths(),
        },
  };
  return spec;
}

function defaultMounts(rootless: boolean): Mount[] {
  const devptsOptions = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'];
  // Without a mapping for gid 5 (tty), devpts refuses gid=5 in a user namespace.
  if (!rootless) devptsOptions.push('gid=5');
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: devptsOptions },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // A user namespace without its own network namespace may not mount sysfs: bind the host's.
    rootless
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

function maskedPaths(): string[] {
  return [
    '/proc/acpi',
    '/proc/asound',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/sys/firmware',
    '/proc/scsi',
  ];
}

function readonlyPaths(): string[] {
  return ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
}
