import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SpecError,
  defaultSpec,
  loadBundleSpec,
  loadProcessSpec,
  rootfsPath,
  validateProcess,
  validateSpec,
  type Spec,
  type SpecWarning,
} from '../src/spec/index.js';

// Loosely typed view of a spec, so cases can break it in any way.
type Loose = Record<string, any>;

function base(): Loose {
  return structuredClone(defaultSpec()) as Loose;
}

function expectSpecError(t: Test, fn: () => unknown, message: string, path?: string): void {
  try {
    fn();
  } catch (err) {
    t.ok(err instanceof SpecError, 'throws a SpecError');
    const e = err as SpecError;
    t.equal(e.message, message);
    t.equal(e.code, 'EINVALID_SPEC');
    t.notMatch(e.message, /\n/, 'message is one line');
    if (path !== undefined) t.equal(e.path, path);
    return;
  }
  t.fail(`expected SpecError: ${message}`);
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'runt-spec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, cmd)));
}

t.test('default spec', async (t) => {
  t.doesNotThrow(() => validateSpec(defaultSpec()), 'default validates');
  t.doesNotThrow(() => validateSpec(defaultSpec({ rootless: true })), 'rootless default validates');
  const spec = defaultSpec();
  t.equal(spec.hostname, 'runt');
  t.equal(spec.ociVersion, '1.0.2-dev');
  t.same(
    spec.linux?.namespaces?.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount'],
  );
  t.not(defaultSpec().process, defaultSpec().process, 'each call returns a fresh object');
});

t.test('default spec equals `runc spec` apart from the hostname', { skip: onPath('runc') ? false : 'runc not installed' }, async (t) => {
  for (const args of [['spec'], ['spec', '--rootless']]) {
    const dir = tempDir(t);
    execFileSync('runc', args, { cwd: dir });
    const runc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const ours = defaultSpec({ rootless: args.includes('--rootless') }) as Loose;
    ours.hostname = 'runc';
    t.equal(JSON.stringify(ours, null, '\t'), JSON.stringify(runc, null, '\t'), `runc ${args.join(' ')}`);
  }
});

t.test('valid configs', async (t) => {
  const full = base();
  full.extraField = { anything: true };
  full.process.extra = 1;
  full.process.consoleSize = { height: 24, width: 80 };
  full.process.user = { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 10] };
  full.process.capabilities.inheritable = ['CAP_CHOWN', 'CAP_CHECKPOINT_RESTORE'];
  // eslint-disable-next-line no-loss-of-precision -- RLIM_INFINITY as a config writes it
  full.process.rlimits.push({ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 });
  full.process.oomScoreAdj = -999;
  full.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
  full.process.scheduler = { policy: 'SCHED_OTHER', nice: 5, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
  full.process.execCPUAffinity = { initial: '0-1,3', final: '' };
  full.process.env.push('EMPTY=');
  full.domainname = 'example.org';
  full.annotations = { 'org.opencontainers.image.os': 'linux' };
  full.hooks = {
    prestart: [{ path: '/usr/bin/true', args: ['true'], env: ['A=b'], timeout: 5 }],
    poststop: [{ path: '/bin/echo' }],
    someFutureHook: 'ignored',
  };
  full.mounts.push({ destination: '/data', type: 'none', source: 'data', options: ['rbind', 'ro'] });
  full.linux.namespaces.push({ type: 'cgroup' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'time' });
  full.linux.timeOffsets = { monotonic: { secs: -10, nanosecs: 5 } };
  full.linux.rootfsPropagation = 'rslave';
  full.linux.devices = [
    { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 8630, uid: 0, gid: 0 },
    { type: 'p', path: '/dev/fifo' },
  ];
  full.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000', 'fs.mqueue.msg_max': '10', 'kernel.domainname': 'x' };
  full.linux.resources = {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    ],
    memory: { limit: -1, swap: -1, swappiness: 0, disableOOMKiller: true },
    cpu: { shares: 1024, quota: -1, period: 100000, cpus: '0-1' },
    pids: { limit: -1 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    network: { classID: 1, priorities: [{ name: 'eth0', priority: 5 }] },
    unified: { 'memory.high': 'max' },
  };
  full.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' },
    ],
    listenerPath: '/run/agent.sock',
    listenerMetadata: 'meta',
  };
  full.linux.personality = { domain: 'LINUX32' };
  full.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] };
  full.linux.intelRdt = { closID: 'x', memBwSchema: 'MB:0=20' };

  const before = structuredClone(full);
  const result = validateSpec(full);
  t.equal(result, full as unknown as Spec, 'returns the input itself');
  t.same(full, before, 'input not modified');

  const rootless = base();
  rootless.linux.namespaces.push({ type: 'user' });
  rootless.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 65536 }];
  rootless.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 65536 }];
  rootless.mounts.push({
    destination: '/mapped',
    type: 'none',
    source: '/src',
    options: ['bind', 'idmap'],
    uidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
  });
  t.doesNotThrow(() => validateSpec(rootless), 'user namespace with mappings and an idmapped mount');

  const noProcess = base();
  delete noProcess.process;
  t.doesNotThrow(() => validateSpec(noProcess, { requireProcess: false }), 'process optional on request');
});

t.test('unknown but well-formed capabilities are warnings', async (t) => {
  const spec = base();
  spec.process.capabilities.bounding.push('CAP_FUTURE');
  const warnings: SpecWarning[] = [];
  t.doesNotThrow(() => validateSpec(spec, { onWarning: (w) => warnings.push(w) }));
  t.same(warnings, [
    {
      path: 'process.capabilities.bounding[3]',
      message: 'process.capabilities.bounding[3]: unknown capability "CAP_FUTURE" is ignored',
    },
  ]);
});

t.test('a relative mount destination is a warning (deprecated, taken from /)', async (t) => {
  const spec = base();
  spec.mounts[0].destination = 'proc';
  const warnings: SpecWarning[] = [];
  t.doesNotThrow(() => validateSpec(spec, { onWarning: (w) => warnings.push(w) }));
  t.same(
    warnings.map((w) => w.message),
    ['mounts[0].destination: relative destination "proc" is deprecated: taken as "/proc"'],
  );
});

t.test('fields for other platforms are named in warnings, not dropped silently', async (t) => {
  const spec = base();
  spec.windows = { layerFolders: [] };
  spec.vm = { kernel: { path: '/k' } };
  spec.process.commandLine = 'cmd.exe';
  spec.process.user.username = 'Administrator';
  const warnings: SpecWarning[] = [];
  t.doesNotThrow(() => validateSpec(spec, { onWarning: (w) => warnings.push(w) }));
  t.same(warnings.map((w) => w.message).sort(), [
    'process.commandLine: is for Windows: ignored on Linux (process.args is used)',
    'process.user.username: is for Windows: ignored on Linux (uid and gid are used)',
    'vm: configuration for another platform: ignored on Linux',
    'windows: configuration for another platform: ignored on Linux',
  ]);
});

// [description, how to break the default spec, expected message, expected path]
const invalid: [string, (s: Loose) => void, string, string][] = [
  [
    'ociVersion missing',
    (s) => {
      delete s.ociVersion;
    },
    'ociVersion: is required',
    'ociVersion',
  ],
  [
    'ociVersion not a string',
    (s) => {
      s.ociVersion = 1;
    },
    'ociVersion: must be a string, got 1',
    'ociVersion',
  ],
  [
    'ociVersion not semver',
    (s) => {
      s.ociVersion = '1.0';
    },
    'ociVersion: must be a SemVer version such as "1.0.2", got "1.0"',
    'ociVersion',
  ],
  [
    'root missing',
    (s) => {
      delete s.root;
    },
    'root: is required',
    'root',
  ],
  [
    'root.path missing',
    (s) => {
      delete s.root.path;
    },
    'root.path: is required',
    'root.path',
  ],
  [
    'root.path empty',
    (s) => {
      s.root.path = '';
    },
    'root.path: must not be empty',
    'root.path',
  ],
  [
    'root.readonly type',
    (s) => {
      s.root.readonly = 'yes';
    },
    'root.readonly: must be a boolean, got "yes"',
    'root.readonly',
  ],
  [
    'process missing',
    (s) => {
      delete s.process;
    },
    'process: is required',
    'process',
  ],
  [
    'process.args missing',
    (s) => {
      delete s.process.args;
    },
    'process.args: must be a non-empty array of strings',
    'process.args',
  ],
  [
    'process.args empty',
    (s) => {
      s.process.args = [];
    },
    'process.args: must be a non-empty array of strings',
    'process.args',
  ],
  [
    'process.args element',
    (s) => {
      s.process.args = ['sh', 5];
    },
    'process.args[1]: must be a string, got 5',
    'process.args[1]',
  ],
  [
    'process.args NUL',
    (s) => {
      s.process.args = ['s\0h'];
    },
    'process.args[0]: must not contain a NUL byte',
    'process.args[0]',
  ],
  [
    'process.cwd missing',
    (s) => {
      delete s.process.cwd;
    },
    'process.cwd: is required',
    'process.cwd',
  ],
  [
    'process.cwd relative',
    (s) => {
      s.process.cwd = 'tmp';
    },
    'process.cwd: must be an absolute path, got "tmp"',
    'process.cwd',
  ],
  [
    'process.env not K=V',
    (s) => {
      s.process.env.push('FOO');
    },
    'process.env[2]: must be "KEY=value", got "FOO"',
    'process.env[2]',
  ],
  [
    'process.env empty key',
    (s) => {
      s.process.env = ['=x'];
    },
    'process.env[0]: must be "KEY=value", got "=x"',
    'process.env[0]',
  ],
  [
    'process.env not array',
    (s) => {
      s.process.env = 'A=b';
    },
    'process.env: must be an array, got "A=b"',
    'process.env',
  ],
  [
    'process.terminal type',
    (s) => {
      s.process.terminal = 1;
    },
    'process.terminal: must be a boolean, got 1',
    'process.terminal',
  ],
  [
    'process.consoleSize width',
    (s) => {
      s.process.consoleSize = { height: 1 };
    },
    'process.consoleSize.width: is required',
    'process.consoleSize.width',
  ],
  [
    'process.user missing',
    (s) => {
      delete s.process.user;
    },
    'process.user: is required',
    'process.user',
  ],
  [
    'process.user.uid negative',
    (s) => {
      s.process.user.uid = -1;
    },
    'process.user.uid: must be an id in 0..2147483647, got -1',
    'process.user.uid',
  ],
  [
    'process.user.gid fraction',
    (s) => {
      s.process.user.gid = 1.5;
    },
    'process.user.gid: must be an id in 0..2147483647, got 1.5',
    'process.user.gid',
  ],
  [
    'process.user.additionalGids',
    (s) => {
      s.process.user.additionalGids = [1, 'x'];
    },
    'process.user.additionalGids[1]: must be an id in 0..2147483647, got "x"',
    'process.user.additionalGids[1]',
  ],
  [
    'capability malformed',
    (s) => {
      s.process.capabilities.effective = ['SYS_ADMIN'];
    },
    'process.capabilities.effective[0]: unknown capability "SYS_ADMIN"',
    'process.capabilities.effective[0]',
  ],
  [
    'capability set not array',
    (s) => {
      s.process.capabilities.ambient = 'CAP_KILL';
    },
    'process.capabilities.ambient: must be an array, got "CAP_KILL"',
    'process.capabilities.ambient',
  ],
  [
    'rlimit unknown',
    (s) => {
      s.process.rlimits[0].type = 'RLIMIT_FOO';
    },
    'process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"',
    'process.rlimits[0].type',
  ],
  [
    'rlimit duplicate',
    (s) => {
      s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 });
    },
    'process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE"',
    'process.rlimits[1].type',
  ],
  [
    'rlimit soft > hard',
    (s) => {
      s.process.rlimits[0].soft = 2048;
    },
    'process.rlimits[0]: soft limit 2048 is greater than hard limit 1024',
    'process.rlimits[0]',
  ],
  [
    'rlimit hard missing',
    (s) => {
      delete s.process.rlimits[0].hard;
    },
    'process.rlimits[0].hard: is required',
    'process.rlimits[0].hard',
  ],
  [
    'rlimit negative',
    (s) => {
      s.process.rlimits[0].soft = -1;
    },
    'process.rlimits[0].soft: must be a non-negative integer, got -1',
    'process.rlimits[0].soft',
  ],
  [
    'oomScoreAdj range',
    (s) => {
      s.process.oomScoreAdj = 1001;
    },
    'process.oomScoreAdj: must be an integer in -1000..1000, got 1001',
    'process.oomScoreAdj',
  ],
  [
    'ioPriority class',
    (s) => {
      s.process.ioPriority = { class: 'X' };
    },
    'process.ioPriority.class: unknown I/O priority class "X"',
    'process.ioPriority.class',
  ],
  [
    'ioPriority priority',
    (s) => {
      s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 };
    },
    'process.ioPriority.priority: must be an integer in 0..7, got 8',
    'process.ioPriority.priority',
  ],
  [
    'scheduler policy',
    (s) => {
      s.process.scheduler = { policy: 'SCHED_X' };
    },
    'process.scheduler.policy: unknown scheduler policy "SCHED_X"',
    'process.scheduler.policy',
  ],
  [
    'cpu affinity',
    (s) => {
      s.process.execCPUAffinity = { initial: 'all' };
    },
    'process.execCPUAffinity.initial: must be a CPU list such as "0-3,7", got "all"',
    'process.execCPUAffinity.initial',
  ],
  [
    'hostname without uts',
    (s) => {
      s.linux.namespaces = [{ type: 'mount' }];
    },
    'hostname: unable to set hostname without a private UTS namespace',
    'hostname',
  ],
  [
    'domainname without uts',
    (s) => {
      delete s.hostname;
      s.domainname = 'd';
      s.linux.namespaces = [{ type: 'mount' }];
    },
    'domainname: unable to set domainname without a private UTS namespace',
    'domainname',
  ],
  [
    'hostname type',
    (s) => {
      s.hostname = 5;
    },
    'hostname: must be a string, got 5',
    'hostname',
  ],
  [
    'mounts not array',
    (s) => {
      s.mounts = {};
    },
    'mounts: must be an array, got {}',
    'mounts',
  ],
  [
    'mount not object',
    (s) => {
      s.mounts[2] = '/dev/pts';
    },
    'mounts[2]: must be an object, got "/dev/pts"',
    'mounts[2]',
  ],
  [
    'mount destination empty',
    (s) => {
      s.mounts[1].destination = '';
    },
    'mounts[1].destination: must not be empty',
    'mounts[1].destination',
  ],
  [
    'mount destination missing',
    (s) => {
      delete s.mounts[0].destination;
    },
    'mounts[0].destination: is required',
    'mounts[0].destination',
  ],
  [
    'mount options type',
    (s) => {
      s.mounts[0].options = 'ro';
    },
    'mounts[0].options: must be an array, got "ro"',
    'mounts[0].options',
  ],
  [
    'mount option element',
    (s) => {
      s.mounts[0].options = ['ro', 1];
    },
    'mounts[0].options[1]: must be a string, got 1',
    'mounts[0].options[1]',
  ],
  [
    'mount uidMappings alone',
    (s) => {
      s.mounts[0].uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    },
    'mounts[0]: uidMappings and gidMappings must be given together',
    'mounts[0]',
  ],
  [
    'mount idmap without mappings',
    (s) => {
      s.mounts[0].options = ['idmap'];
    },
    'mounts[0].options: "idmap" needs uidMappings and gidMappings or a user namespace',
    'mounts[0].options',
  ],
  [
    'hooks path relative',
    (s) => {
      s.hooks = { prestart: [{ path: 'hook.sh' }] };
    },
    'hooks.prestart[0].path: must be an absolute path, got "hook.sh"',
    'hooks.prestart[0].path',
  ],
  [
    'hooks path missing',
    (s) => {
      s.hooks = { poststart: [{}] };
    },
    'hooks.poststart[0].path: is required',
    'hooks.poststart[0].path',
  ],
  [
    'hooks timeout zero',
    (s) => {
      s.hooks = { createRuntime: [{ path: '/x', timeout: 0 }] };
    },
    'hooks.createRuntime[0].timeout: must be a whole number of seconds in 1..2147483, got 0',
    'hooks.createRuntime[0].timeout',
  ],
  [
    'hooks timeout fraction',
    (s) => {
      s.hooks = { poststop: [{ path: '/x', timeout: 1.5 }] };
    },
    'hooks.poststop[0].timeout: must be a whole number of seconds in 1..2147483, got 1.5',
    'hooks.poststop[0].timeout',
  ],
  [
    'hooks not array',
    (s) => {
      s.hooks = { createContainer: {} };
    },
    'hooks.createContainer: must be an array, got {}',
    'hooks.createContainer',
  ],
  [
    'hook env',
    (s) => {
      s.hooks = { startContainer: [{ path: '/x', env: ['NOPE'] }] };
    },
    'hooks.startContainer[0].env[0]: must be "KEY=value", got "NOPE"',
    'hooks.startContainer[0].env[0]',
  ],
  [
    'annotation value',
    (s) => {
      s.annotations = { 'io.x': 1 };
    },
    'annotations["io.x"]: must be a string, got 1',
    'annotations["io.x"]',
  ],
  [
    'annotation empty key',
    (s) => {
      s.annotations = { '': 'v' };
    },
    'annotations[""]: key must not be empty',
    'annotations[""]',
  ],
  [
    'linux not object',
    (s) => {
      s.linux = [];
    },
    'linux: must be an object, got []',
    'linux',
  ],
  [
    'namespace unknown',
    (s) => {
      s.linux.namespaces[2].type = 'foo';
    },
    'linux.namespaces[2].type: unknown namespace "foo"',
    'linux.namespaces[2].type',
  ],
  [
    'namespace duplicate',
    (s) => {
      s.linux.namespaces.push({ type: 'pid' });
    },
    'linux.namespaces[5].type: duplicate namespace "pid"',
    'linux.namespaces[5].type',
  ],
  [
    'namespace path relative',
    (s) => {
      s.linux.namespaces[1].path = 'netns';
    },
    'linux.namespaces[1].path: must be an absolute path, got "netns"',
    'linux.namespaces[1].path',
  ],
  [
    'namespace type missing',
    (s) => {
      s.linux.namespaces[0] = {};
    },
    'linux.namespaces[0].type: is required',
    'linux.namespaces[0].type',
  ],
  [
    'uidMappings without userns',
    (s) => {
      s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    },
    'linux.uidMappings: user namespace mappings given without a user namespace',
    'linux.uidMappings',
  ],
  [
    'gidMappings without userns',
    (s) => {
      s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    },
    'linux.gidMappings: user namespace mappings given without a user namespace',
    'linux.gidMappings',
  ],
  [
    'new userns without mappings',
    (s) => {
      s.linux.namespaces.push({ type: 'user' });
    },
    'linux.uidMappings: a new user namespace needs uid mappings',
    'linux.uidMappings',
  ],
  [
    'new userns without gid mappings',
    (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }];
    },
    'linux.gidMappings: a new user namespace needs gid mappings',
    'linux.gidMappings',
  ],
  [
    'mapping size zero',
    (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 0 }];
    },
    'linux.uidMappings[0].size: must be an integer in 1..2147483648, got 0',
    'linux.uidMappings[0].size',
  ],
  [
    'uid (uid_t)-1',
    (s) => {
      s.process.user.uid = 4294967295;
    },
    'process.user.uid: must be an id in 0..2147483647, got 4294967295',
    'process.user.uid',
  ],
  [
    'mapping past the highest id',
    (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 2147483000, hostID: 0, size: 1000 }];
    },
    'linux.uidMappings[0].size: containerID 2147483000 + size 1000 goes past 2147483647, the highest id runt accepts',
    'linux.uidMappings[0].size',
  ],
  [
    'hook timeout past setTimeout',
    (s) => {
      s.hooks = { poststart: [{ path: '/x', timeout: 2147484 }] };
    },
    'hooks.poststart[0].timeout: must be a whole number of seconds in 1..2147483, got 2147484',
    'hooks.poststart[0].timeout',
  ],
  [
    'tmpfs on /',
    (s) => {
      s.mounts = [{ destination: '/', type: 'tmpfs', source: 'tmpfs' }];
    },
    'mounts[0].destination: a mount on the container\'s root ("/") is not allowed (the root is root.path)',
    'mounts[0].destination',
  ],
  [
    'a bind inside /proc',
    (s) => {
      s.mounts = [{ destination: '/proc/sys/kernel/core_pattern', type: 'bind', source: '/tmp/x' }];
    },
    'mounts[0].destination: nothing may be mounted inside /proc (/proc/sys/kernel/core_pattern): it would redirect what the runtime writes and masks there',
    'mounts[0].destination',
  ],
  [
    'mapping hostID missing',
    (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, size: 1 }];
    },
    'linux.uidMappings[0].hostID: is required',
    'linux.uidMappings[0].hostID',
  ],
  [
    'timeOffsets without time ns',
    (s) => {
      s.linux.timeOffsets = { boottime: { secs: 1 } };
    },
    'linux.timeOffsets: time offsets need a time namespace',
    'linux.timeOffsets',
  ],
  [
    'timeOffsets unknown clock',
    (s) => {
      s.linux.timeOffsets = { realtime: {} };
    },
    'linux.timeOffsets.realtime: unknown clock "realtime"',
    'linux.timeOffsets.realtime',
  ],
  [
    'device type',
    (s) => {
      s.linux.devices = [{ type: 'x', path: '/dev/x' }];
    },
    'linux.devices[0].type: unknown device type "x"',
    'linux.devices[0].type',
  ],
  [
    'device path relative',
    (s) => {
      s.linux.devices = [{ type: 'c', path: 'dev/null', major: 1, minor: 3 }];
    },
    'linux.devices[0].path: must be an absolute path, got "dev/null"',
    'linux.devices[0].path',
  ],
  [
    'device major missing',
    (s) => {
      s.linux.devices = [{ type: 'c', path: '/dev/null', minor: 3 }];
    },
    'linux.devices[0].major: is required for device type "c"',
    'linux.devices[0].major',
  ],
  [
    'device minor missing',
    (s) => {
      s.linux.devices = [{ type: 'b', path: '/dev/sda', major: 8 }];
    },
    'linux.devices[0].minor: is required for device type "b"',
    'linux.devices[0].minor',
  ],
  [
    'device fileMode',
    (s) => {
      s.linux.devices = [{ type: 'p', path: '/dev/p', fileMode: -1 }];
    },
    'linux.devices[0].fileMode: must be an integer in 0..4294967295, got -1',
    'linux.devices[0].fileMode',
  ],
  [
    'netDevices without netns',
    (s) => {
      s.linux.namespaces.splice(1, 1);
      s.linux.netDevices = { eth1: {} };
    },
    'linux.netDevices: moving network devices needs a network namespace',
    'linux.netDevices',
  ],
  [
    'sysctl value',
    (s) => {
      s.linux.sysctl = { 'net.ipv4.ip_forward': 1 };
    },
    'linux.sysctl["net.ipv4.ip_forward"]: must be a string, got 1',
    'linux.sysctl["net.ipv4.ip_forward"]',
  ],
  [
    'sysctl host namespace',
    (s) => {
      s.linux.sysctl = { 'vm.swappiness': '1' };
    },
    'linux.sysctl["vm.swappiness"]: sysctl "vm.swappiness" is not in a separate kernel namespace',
    'linux.sysctl["vm.swappiness"]',
  ],
  [
    'sysctl net without netns',
    (s) => {
      s.linux.namespaces.splice(1, 1);
      s.linux.sysctl = { 'net.core.somaxconn': '1' };
    },
    'linux.sysctl["net.core.somaxconn"]: sysctl "net.core.somaxconn" needs a private network namespace',
    'linux.sysctl["net.core.somaxconn"]',
  ],
  [
    'sysctl ipc without ipcns',
    (s) => {
      s.linux.namespaces.splice(2, 1);
      s.linux.sysctl = { 'kernel.shmmax': '1' };
    },
    'linux.sysctl["kernel.shmmax"]: sysctl "kernel.shmmax" needs a private IPC namespace',
    'linux.sysctl["kernel.shmmax"]',
  ],
  [
    'resources.devices allow',
    (s) => {
      s.linux.resources.devices = [{ access: 'rwm' }];
    },
    'linux.resources.devices[0].allow: is required',
    'linux.resources.devices[0].allow',
  ],
  [
    'resources.devices access',
    (s) => {
      s.linux.resources.devices[0].access = 'rwx';
    },
    'linux.resources.devices[0].access: must be a combination of r, w and m, got "rwx"',
    'linux.resources.devices[0].access',
  ],
  [
    'resources.devices type',
    (s) => {
      s.linux.resources.devices[0].type = 'u';
    },
    'linux.resources.devices[0].type: unknown device type "u"',
    'linux.resources.devices[0].type',
  ],
  [
    'memory.limit type',
    (s) => {
      s.linux.resources.memory = { limit: '1G' };
    },
    'linux.resources.memory.limit: must be an integer, got "1G"',
    'linux.resources.memory.limit',
  ],
  [
    'memory.swappiness negative',
    (s) => {
      s.linux.resources.memory = { swappiness: -1 };
    },
    'linux.resources.memory.swappiness: must be a non-negative integer, got -1',
    'linux.resources.memory.swappiness',
  ],
  [
    'cpu.shares negative',
    (s) => {
      s.linux.resources.cpu = { shares: -2 };
    },
    'linux.resources.cpu.shares: must be a non-negative integer, got -2',
    'linux.resources.cpu.shares',
  ],
  [
    'cpu.period negative',
    (s) => {
      s.linux.resources.cpu = { period: -1 };
    },
    'linux.resources.cpu.period: must be a non-negative integer, got -1',
    'linux.resources.cpu.period',
  ],
  [
    'pids.limit missing',
    (s) => {
      s.linux.resources.pids = {};
    },
    'linux.resources.pids.limit: is required',
    'linux.resources.pids.limit',
  ],
  [
    'blockIO.weight range',
    (s) => {
      s.linux.resources.blockIO = { weight: 70000 };
    },
    'linux.resources.blockIO.weight: must be an integer in 0..65535, got 70000',
    'linux.resources.blockIO.weight',
  ],
  [
    'blockIO throttle rate',
    (s) => {
      s.linux.resources.blockIO = { throttleWriteIOPSDevice: [{ major: 8, minor: 0 }] };
    },
    'linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: is required',
    'linux.resources.blockIO.throttleWriteIOPSDevice[0].rate',
  ],
  [
    'hugepage size',
    (s) => {
      s.linux.resources.hugepageLimits = [{ pageSize: '2M', limit: 1 }];
    },
    'linux.resources.hugepageLimits[0].pageSize: must be a size such as "2MB", got "2M"',
    'linux.resources.hugepageLimits[0].pageSize',
  ],
  [
    'unified value',
    (s) => {
      s.linux.resources.unified = { 'memory.max': 5 };
    },
    'linux.resources.unified["memory.max"]: must be a string, got 5',
    'linux.resources.unified["memory.max"]',
  ],
  [
    'rootfsPropagation',
    (s) => {
      s.linux.rootfsPropagation = 'recursive';
    },
    'linux.rootfsPropagation: unknown propagation "recursive"',
    'linux.rootfsPropagation',
  ],
  [
    'seccomp defaultAction missing',
    (s) => {
      s.linux.seccomp = {};
    },
    'linux.seccomp.defaultAction: is required',
    'linux.seccomp.defaultAction',
  ],
  [
    'seccomp defaultAction unknown',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' };
    },
    'linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_NOPE"',
    'linux.seccomp.defaultAction',
  ],
  [
    'seccomp notify default',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/s' };
    },
    'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action',
    'linux.seccomp.defaultAction',
  ],
  [
    'seccomp defaultErrnoRet with allow',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 };
    },
    'linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW',
    'linux.seccomp.defaultErrnoRet',
  ],
  [
    'seccomp arch',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86_64'] };
    },
    'linux.seccomp.architectures[0]: unknown seccomp architecture "x86_64"',
    'linux.seccomp.architectures[0]',
  ],
  [
    'seccomp flag',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['TSYNC'] };
    },
    'linux.seccomp.flags[0]: unknown seccomp flag "TSYNC"',
    'linux.seccomp.flags[0]',
  ],
  [
    'seccomp syscall action',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'KILL' }] };
    },
    'linux.seccomp.syscalls[0].action: unknown seccomp action "KILL"',
    'linux.seccomp.syscalls[0].action',
  ],
  [
    'seccomp syscall names empty',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_KILL' }] };
    },
    'linux.seccomp.syscalls[0].names: must be a non-empty array of strings',
    'linux.seccomp.syscalls[0].names',
  ],
  [
    'seccomp arg op',
    (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'EQ' }] }],
      };
    },
    'linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "EQ"',
    'linux.seccomp.syscalls[0].args[0].op',
  ],
  [
    'seccomp arg index',
    (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }],
      };
    },
    'linux.seccomp.syscalls[0].args[0].index: must be an integer in 0..5, got 6',
    'linux.seccomp.syscalls[0].args[0].index',
  ],
  [
    'seccomp errnoRet with kill',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] };
    },
    'linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL',
    'linux.seccomp.syscalls[0].errnoRet',
  ],
  [
    'seccomp notify without listener',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
    },
    'linux.seccomp.listenerPath: is required when SCMP_ACT_NOTIFY is used',
    'linux.seccomp.listenerPath',
  ],
  [
    'seccomp metadata without listener',
    (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'm' };
    },
    'linux.seccomp.listenerMetadata: must not be set without listenerPath',
    'linux.seccomp.listenerMetadata',
  ],
  [
    'maskedPaths relative',
    (s) => {
      s.linux.maskedPaths.push('proc/kcore');
    },
    'linux.maskedPaths[10]: must be an absolute path, got "proc/kcore"',
    'linux.maskedPaths[10]',
  ],
  [
    'readonlyPaths type',
    (s) => {
      s.linux.readonlyPaths = '/proc/sys';
    },
    'linux.readonlyPaths: must be an array, got "/proc/sys"',
    'linux.readonlyPaths',
  ],
  [
    'personality domain',
    (s) => {
      s.linux.personality = { domain: 'LINUX64' };
    },
    'linux.personality.domain: unknown personality domain "LINUX64"',
    'linux.personality.domain',
  ],
  [
    'personality domain missing',
    (s) => {
      s.linux.personality = {};
    },
    'linux.personality.domain: is required',
    'linux.personality.domain',
  ],
  [
    'memoryPolicy mode',
    (s) => {
      s.linux.memoryPolicy = { mode: 'BIND' };
    },
    'linux.memoryPolicy.mode: unknown memory policy mode "BIND"',
    'linux.memoryPolicy.mode',
  ],
  [
    'intelRdt memBwSchema',
    (s) => {
      s.linux.intelRdt = { memBwSchema: 'L3:0=1' };
    },
    'linux.intelRdt.memBwSchema: must start with "MB:" and have no newline, got "L3:0=1"',
    'linux.intelRdt.memBwSchema',
  ],
];

t.test('invalid configs: one-line errors with the JSON path', async (t) => {
  expectSpecError(t, () => validateSpec([]), 'config: must be an object, got []', 'config');
  expectSpecError(t, () => validateSpec(null), 'config: must be an object, got null', 'config');
  for (const [name, breakIt, message, path] of invalid) {
    t.test(name, async (t) => {
      const spec = base();
      breakIt(spec);
      expectSpecError(t, () => validateSpec(spec), message, path);
    });
  }
});

t.test('validateProcess', async (t) => {
  const proc = structuredClone(defaultSpec().process);
  t.equal(validateProcess(proc), proc);
  expectSpecError(
    t,
    () => validateProcess({ cwd: '/', user: { uid: 0, gid: 0 }, args: [] }),
    'process.args: must be a non-empty array of strings',
    'process.args',
  );
  expectSpecError(
    t,
    () => validateProcess({ cwd: 'x', user: { uid: 0, gid: 0 }, args: ['a'] }, { path: 'exec' }),
    'exec.cwd: must be an absolute path, got "x"',
    'exec.cwd',
  );
});

t.test('SpecError', async (t) => {
  const e = new SpecError('a.b', 'first\nsecond');
  t.ok(e instanceof Error);
  t.equal(e.name, 'SpecError');
  t.equal(e.message, 'a.b: first second');
  t.equal(e.path, 'a.b');
});

function writeBundle(t: Test, config: unknown, rootfs: 'dir' | 'file' | 'none' = 'dir'): string {
  const bundle = tempDir(t);
  writeFileSync(join(bundle, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  if (rootfs === 'dir') mkdirSync(join(bundle, 'rootfs'));
  if (rootfs === 'file') writeFileSync(join(bundle, 'rootfs'), '');
  return bundle;
}

t.test('loadBundleSpec', async (t) => {
  t.test('valid bundle, relative root.path', async (t) => {
    const bundle = writeBundle(t, defaultSpec());
    const spec = loadBundleSpec(bundle);
    t.equal(spec.hostname, 'runt');
    t.equal(rootfsPath(bundle, spec), join(bundle, 'rootfs'));
  });

  t.test('bundle given relative to the cwd', async (t) => {
    const bundle = writeBundle(t, defaultSpec());
    const cwd = process.cwd();
    process.chdir(join(bundle, '..'));
    t.teardown(() => process.chdir(cwd));
    t.doesNotThrow(() => loadBundleSpec(bundle.split('/').pop()!));
  });

  t.test('absolute root.path', async (t) => {
    const other = tempDir(t);
    const spec = defaultSpec();
    spec.root = { path: other + '/./' };
    const bundle = writeBundle(t, spec, 'none');
    t.equal(rootfsPath(bundle, loadBundleSpec(bundle)), other);
  });

  t.test('missing bundle directory', async (t) => {
    const missing = join(tempDir(t), 'nope');
    expectSpecError(t, () => loadBundleSpec(missing), `${missing}: bundle directory does not exist`, missing);
  });

  t.test('bundle is a file', async (t) => {
    const file = join(tempDir(t), 'file');
    writeFileSync(file, '');
    expectSpecError(t, () => loadBundleSpec(file), `${file}: bundle is not a directory`, file);
  });

  t.test('missing config.json', async (t) => {
    const bundle = tempDir(t);
    expectSpecError(t, () => loadBundleSpec(bundle), `${bundle}/config.json: no such file`, `${bundle}/config.json`);
  });

  t.test('malformed JSON', async (t) => {
    const bundle = writeBundle(t, '{"ociVersion": ');
    try {
      loadBundleSpec(bundle);
      t.fail('should throw');
    } catch (err) {
      t.ok(err instanceof SpecError);
      t.match((err as SpecError).message, /^config\.json: invalid JSON: \S.*$/);
      t.equal((err as SpecError).path, 'config.json');
    }
  });

  t.test('invalid config', async (t) => {
    const spec = base();
    spec.process.cwd = 'relative';
    const bundle = writeBundle(t, spec);
    expectSpecError(t, () => loadBundleSpec(bundle), 'process.cwd: must be an absolute path, got "relative"');
  });

  t.test('missing rootfs', async (t) => {
    const bundle = writeBundle(t, defaultSpec(), 'none');
    expectSpecError(t, () => loadBundleSpec(bundle), `root.path: rootfs "${join(bundle, 'rootfs')}" does not exist`, 'root.path');
  });

  t.test('rootfs is not a directory', async (t) => {
    const bundle = writeBundle(t, defaultSpec(), 'file');
    expectSpecError(t, () => loadBundleSpec(bundle), `root.path: rootfs "${join(bundle, 'rootfs')}" is not a directory`, 'root.path');
  });

  t.test('requireProcess passes through', async (t) => {
    const spec = base();
    delete spec.process;
    const bundle = writeBundle(t, spec);
    expectSpecError(t, () => loadBundleSpec(bundle), 'process: is required');
    t.doesNotThrow(() => loadBundleSpec(bundle, { requireProcess: false }));
  });
});

t.test('loadProcessSpec', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'process.json');
  writeFileSync(file, JSON.stringify(defaultSpec().process));
  t.same(loadProcessSpec(file), defaultSpec().process);
  writeFileSync(file, '{');
  t.throws(() => loadProcessSpec(file), { code: 'EINVALID_SPEC' });
  expectSpecError(t, () => loadProcessSpec(join(dir, 'none.json')), `${join(dir, 'none.json')}: no such file`);
});

t.test('a config object nested too deep (a library caller) is refused before the validator recurses', async (t) => {
  const s = base();
  let deep: unknown[] = [];
  s['x-unknown'] = deep;
  for (let i = 0; i < 20000; i++) {
    const next: unknown[] = [];
    deep.push(next);
    deep = next;
  }
  expectSpecError(
    t,
    () => validateSpec(s),
    'config: nested more than 1000 levels deep (under ["x-unknown"][0][0][0]...), the most runt accepts',
    'config',
  );
  const ok = base();
  let shallow: unknown[] = [];
  ok['x-unknown'] = shallow;
  for (let i = 0; i < 900; i++) {
    const next: unknown[] = [];
    shallow.push(next);
    shallow = next;
  }
  t.doesNotThrow(() => validateSpec(ok), '900 levels are fine');
});
