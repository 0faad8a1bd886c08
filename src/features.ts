// The OCI features document (features.md, features-linux.md): what this build of runt implements.
// Lists are derived from the code that implements them (the planner's namespace and mount-option
// tables, the seccomp compiler, the cgroup drivers), so the document cannot claim more than runt does.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import {
  OCI_VERSION,
  CAPABILITIES,
  HOOK_NAMES,
  MOUNT_OPTIONS,
  SECCOMP_ACTIONS,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from './spec/constants.js';
import { NAMESPACES } from './plan/constants.js';
import { IMPLEMENTED_EXTENSIONS, parseMountOptions } from './plan/mount-options.js';
import { LSM_SUPPORT } from './security/lsm.js';
import { usableSeccompArchitectures } from './security/seccomp.js';
import { runtVersion } from './package-root.js';
import { MPOL_FLAG, MPOL_MODE } from './plan/process-attrs.js';
import { INTEL_RDT_SUPPORTED } from './plan/intel-rdt.js';
import { NET_DEVICES_SUPPORTED } from './plan/net-devices.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    memoryPolicy: { modes: string[]; flags: string[] };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
    netDevices: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = OCI_VERSION;

/** Namespace types the planner cannot create or join (none today: time offsets are written too). */
const UNSUPPORTED_NAMESPACES = new Set<string>();

/** Kernel release that added each seccomp filter flag (seccomp(2)). */
const FLAG_SINCE: Record<string, [number, number]> = {
  SECCOMP_FILTER_FLAG_TSYNC: [3, 17],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [5, 19],
};

export { runtVersion };

export function features(): Features {
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOOK_NAMES],
    mountOptions: implementedMountOptions(),
    linux: {
      namespaces: Object.keys(NAMESPACES)
        .filter((t) => !UNSUPPORTED_NAMESPACES.has(t))
        .sort(),
      capabilities: Object.entries(CAPABILITIES)
        .filter(([, n]) => n <= lastCap)
        .sort((a, b) => a[1] - b[1])
        .map(([name]) => name),
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS].sort(),
        operators: [...SECCOMP_OPERATORS].sort(),
        archs: seccompArchs(),
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: SECCOMP_FLAGS.filter((f) => kernelAtLeast(FLAG_SINCE[f] ?? [99, 0])),
      },
      // Whether runt applies profiles and labels (it does not; such configs are refused), not
      // whether the host has the LSM.
      apparmor: { enabled: LSM_SUPPORT.apparmor },
      selinux: { enabled: LSM_SUPPORT.selinux },
      memoryPolicy: { modes: Object.keys(MPOL_MODE), flags: Object.keys(MPOL_FLAG) },
      intelRdt: { enabled: INTEL_RDT_SUPPORTED },
      mountExtensions: { idmap: { enabled: IMPLEMENTED_EXTENSIONS.has('idmap') } },
      netDevices: { enabled: NET_DEVICES_SUPPORTED },
    },
    annotations: { 'org.opencontainers.runt.version': runtVersion() },
  };
}

/** Options that become mount flags or propagation changes (or are the no-op "defaults"), and the
 *  extensions the planner carries out (tmpcopyup). The rest would reach mount(2) as filesystem
 *  data, or are extensions the planner does not act on. */
function implementedMountOptions(): string[] {
  return MOUNT_OPTIONS.filter((o) => {
    const parsed = parseMountOptions([o]);
    return parsed.data === '' && [...parsed.extensions].every((e) => IMPLEMENTED_EXTENSIONS.has(e));
  }).sort();
}

/** The architectures a filter here can hold: the linked libseccomp knows them and they share the
 *  host's byte order (create refuses the others, naming the entry). */
function seccompArchs(): string[] {
  return usableSeccompArchitectures().sort();
}

function kernelAtLeast([major, minor]: [number, number]): boolean {
  const [kMajor, kMinor] = release()
    .split('.')
    .map((x) => parseInt(x, 10));
  return kMajor > major || (kMajor === major && kMinor >= minor);
}
