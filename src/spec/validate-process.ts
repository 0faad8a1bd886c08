// Validation of `process` (config.md "Process", "POSIX process", "Linux process"). Also used on
// its own for the process JSON given to `exec --process`.

import { Fields, INT, expectInt, expectNoNul, expectOneOf, expectString, expectStringArray, fail, indexPath, show } from './check.js';
import { CAPABILITIES, IO_PRIORITY_CLASSES, RLIMITS, SCHEDULER_FLAGS, SCHEDULER_POLICIES } from './constants.js';
import type { Process } from './types.js';

export type Warn = (path: string, detail: string) => void;

const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
const CPU_LIST = /^[0-9, -]*$/;

export function checkProcess(f: Fields, warn: Warn): Process {
  checkArgs(f);
  // Windows only (config.md): named, not silently dropped.
  if (f.optString('commandLine') !== undefined) warn(f.at('commandLine'), 'is for Windows: ignored on Linux (process.args is used)');
  if (f.has('env')) checkEnv(f.raw('env'), f.at('env'));
  const cwd = f.reqString('cwd');
  if (!cwd.startsWith('/')) fail(f.at('cwd'), `must be an absolute path, got ${show(cwd)}`);
  expectNoNul(cwd, f.at('cwd'));

  f.optBoolean('terminal');
  const size = f.optObject('consoleSize');
  if (size) {
    size.reqInt('height', INT.uint64);
    size.reqInt('width', INT.uint64);
  }
  checkUser(f.reqObject('user'), warn);

  const caps = f.optObject('capabilities');
  if (caps) checkCapabilities(caps, warn);
  checkRlimits(f);

  f.optBoolean('noNewPrivileges');
  f.optString('apparmorProfile');
  f.optString('selinuxLabel');
  f.optInt('oomScoreAdj', { min: -1000, max: 1000, what: 'an integer in -1000..1000' });

  const io = f.optObject('ioPriority');
  if (io) {
    io.reqOneOf('class', IO_PRIORITY_CLASSES, 'I/O priority class');
    io.optInt('priority', { min: 0, max: 7, what: 'an integer in 0..7' });
  }

  const sched = f.optObject('scheduler');
  if (sched) {
    sched.reqOneOf('policy', SCHEDULER_POLICIES, 'scheduler policy');
    sched.optInt('nice', INT.int32);
    sched.optInt('priority', INT.int32);
    sched.optArray('flags')?.forEach((v, i) => expectOneOf(v, indexPath(sched.at('flags'), i), SCHEDULER_FLAGS, 'scheduler flag'));
    for (const key of ['runtime', 'deadline', 'period']) sched.optInt(key, INT.uint64);
  }

  const affinity = f.optObject('execCPUAffinity');
  if (affinity) {
    for (const key of ['initial', 'final']) {
      const list = affinity.optString(key);
      if (list !== undefined && !CPU_LIST.test(list)) {
        fail(affinity.at(key), `must be a CPU list such as "0-3,7", got ${show(list)}`);
      }
    }
  }
  return f.obj as unknown as Process;
}

function checkArgs(f: Fields): void {
  const path = f.at('args');
  const args = f.raw('args');
  if (!Array.isArray(args) || args.length === 0) fail(path, 'must be a non-empty array of strings');
  args.forEach((a, i) => expectNoNul(expectString(a, indexPath(path, i)), indexPath(path, i)));
}

/** Every entry is `KEY=value` with a non-empty KEY (runc refuses anything else). */
export function checkEnv(value: unknown, path: string): string[] {
  const env = expectStringArray(value, path);
  env.forEach((entry, i) => {
    const at = indexPath(path, i);
    if (entry.indexOf('=') <= 0) fail(at, `must be "KEY=value", got ${show(entry)}`);
    expectNoNul(entry, at);
  });
  return env;
}

function checkUser(user: Fields, warn: Warn): void {
  user.reqInt('uid', INT.id);
  user.reqInt('gid', INT.id);
  user.optInt('umask', INT.uint32);
  user.optArray('additionalGids')?.forEach((g, i) => expectInt(g, indexPath(user.at('additionalGids'), i), INT.id));
  if (user.optString('username') !== undefined) warn(user.at('username'), 'is for Windows: ignored on Linux (uid and gid are used)');
}

/**
 * A well-formed CAP_* name this runtime does not know is only a warning: the spec says such
 * capabilities MUST be logged and SHOULD NOT fail the container (a newer kernel may know them).
 */
function checkCapabilities(caps: Fields, warn: Warn): void {
  for (const set of CAPABILITY_SETS) {
    caps.optStringArray(set)?.forEach((name, i) => {
      const at = indexPath(caps.at(set), i);
      if (name in CAPABILITIES) return;
      if (/^CAP_[A-Z0-9_]+$/.test(name)) warn(at, `unknown capability ${show(name)} is ignored`);
      else fail(at, `unknown capability ${show(name)}`);
    });
  }
}

function checkRlimits(f: Fields): void {
  const seen = new Set<string>();
  f.eachObject('rlimits', (r) => {
    const type = r.reqString('type');
    if (!(type in RLIMITS)) fail(r.at('type'), `unknown rlimit ${show(type)}`);
    if (seen.has(type)) fail(r.at('type'), `duplicate rlimit ${show(type)}`);
    seen.add(type);
    const soft = r.reqInt('soft', INT.uint64);
    const hard = r.reqInt('hard', INT.uint64);
    if (soft > hard) fail(r.path, `soft limit ${soft} is greater than hard limit ${hard}`);
  });
}
