// Validation of the `linux` object (config-linux.md).

import {
  Fields,
  INT,
  expectAbsolutePath,
  expectArray,
  expectNoNul,
  expectObject,
  expectOneOf,
  expectString,
  expectStringArray,
  fail,
  indexPath,
  keyPath,
  show,
} from './check.js';
import {
  DEVICE_CGROUP_TYPES,
  DEVICE_TYPES,
  MEMORY_POLICY_FLAGS,
  MEMORY_POLICY_MODES,
  NAMESPACE_TYPES,
  PERSONALITY_DOMAINS,
  ROOTFS_PROPAGATIONS,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_ERRNO_ACTIONS,
  SECCOMP_FLAGS,
  SECCOMP_MAX_ARG_INDEX,
  SECCOMP_OPERATORS,
  TIME_NAMESPACE_CLOCKS,
} from './constants.js';
import type { NamespaceType } from './types.js';
import { sysctlNamespace } from '../security/sysctl.js';

/** Namespace type → the path to join, or undefined when a new namespace is created. */
export type NamespaceSet = Map<NamespaceType, string | undefined>;

/** Checks linux.namespaces (known types, no duplicates, absolute paths) and returns them. */
export function checkNamespaces(linux: Fields | undefined): NamespaceSet {
  const set: NamespaceSet = new Map();
  linux?.eachObject('namespaces', (ns) => {
    const type = ns.reqOneOf('type', NAMESPACE_TYPES, 'namespace');
    if (set.has(type)) fail(ns.at('type'), `duplicate namespace ${show(type)}`);
    const path = ns.has('path') ? expectAbsolutePath(ns.raw('path'), ns.at('path')) : undefined;
    set.set(type, path);
  });
  return set;
}

/** Everything under `linux` except `namespaces` (see checkNamespaces). */
export function checkLinux(linux: Fields, namespaces: NamespaceSet): void {
  checkUserNamespaceMappings(linux, namespaces);
  checkTimeOffsets(linux, namespaces);
  checkDevices(linux);

  const netDevices = linux.optObject('netDevices');
  if (netDevices) {
    for (const key of Object.keys(netDevices.obj)) Fields.of(netDevices.raw(key), netDevices.at(key)).optString('name');
    if (!namespaces.has('network')) fail(linux.at('netDevices'), 'moving network devices needs a network namespace');
  }

  linux.optString('cgroupsPath');
  const resources = linux.optObject('resources');
  if (resources) checkResources(resources);
  linux.optOneOf('rootfsPropagation', ROOTFS_PROPAGATIONS, 'propagation');
  const seccomp = linux.optObject('seccomp');
  if (seccomp) checkSeccomp(seccomp);
  if (linux.has('sysctl')) checkSysctl(linux, namespaces);
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    linux.optArray(key)?.forEach((p, i) => expectAbsolutePath(p, indexPath(linux.at(key), i)));
  }
  linux.optString('mountLabel');
  const rdt = linux.optObject('intelRdt');
  if (rdt) checkIntelRdt(rdt);
  const policy = linux.optObject('memoryPolicy');
  if (policy) {
    policy.reqOneOf('mode', MEMORY_POLICY_MODES, 'memory policy mode');
    policy.optString('nodes');
    policy
      .optArray('flags')
      ?.forEach((v, i) => expectOneOf(v, indexPath(policy.at('flags'), i), MEMORY_POLICY_FLAGS, 'memory policy flag'));
  }
  const personality = linux.optObject('personality');
  if (personality) {
    personality.reqOneOf('domain', PERSONALITY_DOMAINS, 'personality domain');
    personality.optStringArray('flags');
  }
}

export function checkIdMappings(value: unknown, path: string): void {
  expectArray(value, path).forEach((m, i) => {
    const f = Fields.of(m, indexPath(path, i));
    // Both ranges, [id, id + size - 1], must stay within the ids runt accepts (INT.id).
    const size = f.reqInt('size', { min: 1, max: INT.id.max + 1, what: `an integer in 1..${INT.id.max + 1}` });
    for (const key of ['containerID', 'hostID']) {
      const start = f.reqInt(key, INT.id);
      if (start + size - 1 > INT.id.max) {
        fail(f.at('size'), `${key} ${start} + size ${size} goes past ${INT.id.max}, the highest id runt accepts`);
      }
    }
  });
}

function checkUserNamespaceMappings(linux: Fields, namespaces: NamespaceSet): void {
  for (const key of ['uidMappings', 'gidMappings']) {
    if (linux.has(key)) checkIdMappings(linux.raw(key), linux.at(key));
  }
  if (!namespaces.has('user')) {
    for (const key of ['uidMappings', 'gidMappings']) {
      if (linux.has(key)) fail(linux.at(key), 'user namespace mappings given without a user namespace');
    }
    return;
  }
  // Joining an existing user namespace reuses its mappings; a new one cannot work without them.
  if (namespaces.get('user') !== undefined) return;
  for (const [key, ids] of [
    ['uidMappings', 'uid'],
    ['gidMappings', 'gid'],
  ]) {
    const given = linux.raw(key);
    if (!Array.isArray(given) || given.length === 0) fail(linux.at(key), `a new user namespace needs ${ids} mappings`);
  }
}

function checkTimeOffsets(linux: Fields, namespaces: NamespaceSet): void {
  const offsets = linux.optObject('timeOffsets');
  if (!offsets) return;
  for (const clock of Object.keys(offsets.obj)) {
    const at = offsets.at(clock);
    if (!(TIME_NAMESPACE_CLOCKS as readonly string[]).includes(clock)) fail(at, `unknown clock ${show(clock)}`);
    const offset = Fields.of(offsets.raw(clock), at);
    offset.optInt('secs', INT.int64);
    offset.optInt('nanosecs', INT.uint32);
  }
  if (!namespaces.has('time')) fail(linux.at('timeOffsets'), 'time offsets need a time namespace');
}

function checkDevices(linux: Fields): void {
  linux.eachObject('devices', (d) => {
    const type = d.reqOneOf('type', DEVICE_TYPES, 'device type');
    expectNoNul(expectAbsolutePath(d.required('path'), d.at('path')), d.at('path'));
    for (const key of ['major', 'minor']) {
      if (type !== 'p' && !d.has(key)) fail(d.at(key), `is required for device type ${show(type)}`);
      d.optInt(key, INT.uint64);
    }
    // Decimal mode bits; podman passes the whole st_mode (with S_IFCHR etc.), so not just 0..0777.
    d.optInt('fileMode', INT.uint32);
    d.optInt('uid', INT.id);
    d.optInt('gid', INT.id);
  });
}

function checkResources(r: Fields): void {
  r.eachObject('devices', (d) => {
    d.reqBoolean('allow');
    d.optOneOf('type', DEVICE_CGROUP_TYPES, 'device type');
    d.optInt('major', INT.int64);
    d.optInt('minor', INT.int64);
    const access = d.optString('access');
    if (access !== undefined && !/^[rwm]*$/.test(access)) {
      fail(d.at('access'), `must be a combination of r, w and m, got ${show(access)}`);
    }
  });

  const memory = r.optObject('memory');
  if (memory) {
    for (const key of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']) memory.optInt(key, INT.int64);
    memory.optInt('swappiness', INT.uint64);
    for (const key of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']) memory.optBoolean(key);
  }

  const cpu = r.optObject('cpu');
  if (cpu) {
    for (const key of ['shares', 'burst', 'period', 'realtimePeriod']) cpu.optInt(key, INT.uint64);
    for (const key of ['quota', 'realtimeRuntime', 'idle']) cpu.optInt(key, INT.int64);
    cpu.optString('cpus');
    cpu.optString('mems');
  }

  r.optObject('pids')?.reqInt('limit', INT.int64);

  const blockIO = r.optObject('blockIO');
  if (blockIO) {
    blockIO.optInt('weight', INT.uint16);
    blockIO.optInt('leafWeight', INT.uint16);
    blockIO.eachObject('weightDevice', (d) => {
      checkMajorMinor(d);
      d.optInt('weight', INT.uint16);
      d.optInt('leafWeight', INT.uint16);
    });
    for (const key of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
      blockIO.eachObject(key, (d) => {
        checkMajorMinor(d);
        d.reqInt('rate', INT.uint64);
      });
    }
  }

  r.eachObject('hugepageLimits', (h) => {
    const size = h.reqString('pageSize');
    if (!/^[1-9][0-9]*[KMG]B$/.test(size)) fail(h.at('pageSize'), `must be a size such as "2MB", got ${show(size)}`);
    h.reqInt('limit', INT.uint64);
  });

  const network = r.optObject('network');
  if (network) {
    network.optInt('classID', INT.uint32);
    network.eachObject('priorities', (p) => {
      p.reqString('name');
      p.reqInt('priority', INT.uint32);
    });
  }

  const rdma = r.optObject('rdma');
  if (rdma) {
    for (const key of Object.keys(rdma.obj)) {
      const limit = Fields.of(rdma.raw(key), rdma.at(key));
      limit.optInt('hcaHandles', INT.uint32);
      limit.optInt('hcaObjects', INT.uint32);
    }
  }

  r.optStringMap('unified');
}

function checkMajorMinor(d: Fields): void {
  d.reqInt('major', INT.int64);
  d.reqInt('minor', INT.int64);
}

function checkSeccomp(s: Fields): void {
  const defaultAction = s.reqOneOf('defaultAction', SECCOMP_ACTIONS, 'seccomp action');
  if (defaultAction === 'SCMP_ACT_NOTIFY') fail(s.at('defaultAction'), 'SCMP_ACT_NOTIFY cannot be the default action');
  if (s.has('defaultErrnoRet')) {
    s.reqInt('defaultErrnoRet', INT.uint32);
    checkErrnoAction(defaultAction, s.at('defaultErrnoRet'));
  }
  s.optArray('architectures')?.forEach((a, i) =>
    expectOneOf(a, indexPath(s.at('architectures'), i), SECCOMP_ARCHES, 'seccomp architecture'),
  );
  s.optArray('flags')?.forEach((a, i) => expectOneOf(a, indexPath(s.at('flags'), i), SECCOMP_FLAGS, 'seccomp flag'));
  const listenerPath = s.optString('listenerPath');
  if (s.optString('listenerMetadata') !== undefined && listenerPath === undefined) {
    fail(s.at('listenerMetadata'), 'must not be set without listenerPath');
  }

  let notifies = false;
  s.eachObject('syscalls', (sc) => {
    const names = sc.raw('names');
    if (!Array.isArray(names) || names.length === 0) fail(sc.at('names'), 'must be a non-empty array of strings');
    expectStringArray(names, sc.at('names'));
    const action = sc.reqOneOf('action', SECCOMP_ACTIONS, 'seccomp action');
    if (action === 'SCMP_ACT_NOTIFY') notifies = true;
    if (sc.has('errnoRet')) {
      sc.reqInt('errnoRet', INT.uint32);
      checkErrnoAction(action, sc.at('errnoRet'));
    }
    sc.eachObject('args', (arg) => {
      arg.reqInt('index', { min: 0, max: SECCOMP_MAX_ARG_INDEX, what: `an integer in 0..${SECCOMP_MAX_ARG_INDEX}` });
      arg.reqInt('value', INT.uint64);
      arg.optInt('valueTwo', INT.uint64);
      arg.reqOneOf('op', SECCOMP_OPERATORS, 'seccomp operator');
    });
  });
  if (notifies && listenerPath === undefined) fail(s.at('listenerPath'), 'is required when SCMP_ACT_NOTIFY is used');
}

function checkErrnoAction(action: string, path: string): void {
  if (!(SECCOMP_ERRNO_ACTIONS as readonly string[]).includes(action)) {
    fail(path, `only valid with ${SECCOMP_ERRNO_ACTIONS.join(' or ')}, not ${action}`);
  }
}

const NAMESPACE_LABELS: Partial<Record<NamespaceType, string>> = { ipc: 'IPC', network: 'network', uts: 'UTS' };

/**
 * Values must be strings, and (as runc insists) each sysctl must belong to a namespace the
 * container has of its own: writing any other one would change the host.
 */
function checkSysctl(linux: Fields, namespaces: NamespaceSet): void {
  const sysctl = expectObject(linux.raw('sysctl'), linux.at('sysctl'));
  for (const [name, value] of Object.entries(sysctl)) {
    const at = keyPath(linux.at('sysctl'), name);
    if (name === '') fail(at, 'key must not be empty');
    expectNoNul(expectString(value, at), at);
    const ns = sysctlNamespace(name);
    if (!ns) fail(at, `sysctl ${show(name)} is not in a separate kernel namespace`);
    if (!namespaces.has(ns)) fail(at, `sysctl ${show(name)} needs a private ${NAMESPACE_LABELS[ns]} namespace`);
  }
}

function checkIntelRdt(rdt: Fields): void {
  rdt.optString('closID');
  rdt.optStringArray('schemata')?.forEach((line, i) => {
    if (line.includes('\n')) fail(indexPath(rdt.at('schemata'), i), 'must not contain a newline');
  });
  rdt.optString('l3CacheSchema');
  const mb = rdt.optString('memBwSchema');
  if (mb !== undefined && !/^MB:[^\n]*$/.test(mb))
    fail(rdt.at('memBwSchema'), `must start with "MB:" and have no newline, got ${show(mb)}`);
  rdt.optBoolean('enableMonitoring');
}
