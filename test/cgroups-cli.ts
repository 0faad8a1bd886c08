// A small harness for the cgroup end-to-end tests: runt's CLI (`node bin/runt.cjs`) with a
// state root of the test's own, bundles over the example busybox rootfs, and cleanup of every
// container (and any cgroup left for it).
//
// runt's stdout and stderr always go to files: a container inherits them, so a pipe would stay
// open for as long as the container runs.
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpec } from '../src/spec/default.js';
import type { Resources, Spec } from '../src/spec/types.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(REPO, 'bin/runt.cjs');
const ROOTFS = join(REPO, 'examples/busybox/rootfs');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Detached {
  id: string;
  stdout(): string;
  stderr(): string;
}

export interface CliHarness {
  stateRoot: string;
  work: string;
  newId(): string;
  /** Run runt to completion; `stdin` is the text it reads (through a file). */
  runt(args: string[], stdin?: string): Result;
  /** Start runt in the background (events streams); its stdout goes to stdoutFile. */
  runtBackground(args: string[]): { stdoutFile: string; done: Promise<number | null>; kill(): void };
  /** A bundle whose process runs `script` with sh -c over the example rootfs (read-only). */
  bundle(id: string, script: string, resources?: Resources, patch?: (s: Spec) => void): string;
  /** `run -d` a container running `script`; deleted at teardown. */
  runDetached(t: Test, script: string, resources?: Resources, patch?: (s: Spec) => void): Detached;
  state(id: string): { status: string; pid: number };
  /** `delete --force` the container at teardown and remove what `cgroupsOf` still finds. */
  cleanupContainer(t: Test, id: string): void;
}

export interface HarnessOptions {
  /** Prefix of container ids (the pid is added). */
  idPrefix: string;
  /** A command that runs runt's argv (e.g. a private mount namespace). */
  wrapper?: string[];
  /** The cgroup directories a container may have left, deepest first, removed at teardown. */
  cgroupsOf(id: string): string[];
}

/** runt's environment without the test runner's loaders and the slow CA bundle. */
function runtEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export function cliHarness(top: Test, opts: HarnessOptions): CliHarness {
  const work = mkdtempSync('/tmp/runt-cg-e2e-');
  const stateRoot = join(work, 'state');
  top.teardown(() => rmSync(work, { recursive: true, force: true }));
  let seq = 0;
  const argv = (args: string[]) => [...(opts.wrapper ?? []), process.execPath, CLI, '--root', stateRoot, ...args];
  const outFiles = () => {
    const n = ++seq;
    return { out: join(work, `out-${n}`), err: join(work, `err-${n}`) };
  };

  const runt = (args: string[], stdin?: string): Result => {
    const { out, err } = outFiles();
    let inFile = '/dev/null';
    if (stdin !== undefined) {
      inFile = `${out}.in`;
      writeFileSync(inFile, stdin);
    }
    const fds = [openSync(inFile, 'r'), openSync(out, 'w'), openSync(err, 'w')];
    try {
      const [cmd, ...rest] = argv(args);
      const r = spawnSync(cmd, rest, { stdio: fds, env: runtEnv(), timeout: 60_000 });
      return { code: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  };

  const runtBackground = (args: string[]) => {
    const { out, err } = outFiles();
    const outFd = openSync(out, 'w');
    const errFd = openSync(err, 'w');
    const [cmd, ...rest] = argv(args);
    const child = spawn(cmd, rest, { stdio: ['ignore', outFd, errFd], env: runtEnv() });
    closeSync(outFd);
    closeSync(errFd);
    const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return {
      stdoutFile: out,
      done,
      kill: () => {
        child.kill('SIGKILL');
      },
    };
  };

  const bundle = (id: string, script: string, resources?: Resources, patch?: (s: Spec) => void): string => {
    const dir = join(work, `bundle-${id}`);
    mkdirSync(dir);
    const spec = defaultSpec();
    spec.root = { path: ROOTFS, readonly: true };
    spec.process!.terminal = false;
    spec.process!.args = ['sh', '-c', script];
    spec.linux!.resources = { ...spec.linux!.resources, ...resources };
    patch?.(spec);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  };

  const cleanupContainer = (t: Test, id: string) => {
    t.teardown(() => {
      runt(['delete', '--force', id]);
      for (const dir of opts.cgroupsOf(id)) {
        try {
          rmdirSync(dir);
        } catch {
          /* gone, or still busy: the test that made it reports that */
        }
      }
    });
  };

  const newId = () => `${opts.idPrefix}-${process.pid}-${++seq}`;

  const runDetached = (t: Test, script: string, resources?: Resources, patch?: (s: Spec) => void): Detached => {
    const id = newId();
    cleanupContainer(t, id);
    const { out, err } = outFiles();
    const fds = [openSync('/dev/null', 'r'), openSync(out, 'w'), openSync(err, 'w')];
    try {
      const [cmd, ...rest] = argv(['run', '-d', '--bundle', bundle(id, script, resources, patch), id]);
      const r = spawnSync(cmd, rest, { stdio: fds, env: runtEnv(), timeout: 60_000 });
      if (r.status !== 0) throw new Error(`run -d ${id} failed (${r.status}): ${readFileSync(err, 'utf8').trim()}`);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    return { id, stdout: () => readFileSync(out, 'utf8'), stderr: () => readFileSync(err, 'utf8') };
  };

  const state = (id: string) => {
    const r = runt(['state', id]);
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as { status: string; pid: number };
  };

  return { stateRoot, work, newId, runt, runtBackground, bundle, runDetached, state, cleanupContainer };
}

export function ok(t: Test, r: Result, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The state letter of /proc/PID/stat (R, S, D, Z, ...), undefined when the pid is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export const alive = (pid: number) => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z';
};

/** Every cgroup directory in any hierarchy whose name contains `name` (what `find -name` sees). */
export function cgroupsNamed(name: string): string[] {
  const r = spawnSync('find', ['/sys/fs/cgroup', '-name', `*${name}*`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** A container that opens each device path written to its /dev/go fifo (reached from the host
 *  through /proc/PID/root) and prints "path 0" or "path 1"; open() asks and returns the answer
 *  (other output lines, not starting with /dev/, are left alone). The container holds the fifo open
 *  read-write: reopening it for each request would let a read see end-of-file when the host's
 *  open and close fall between two of the shell's opens, ending the loop. */
export const DEVICE_PROBE_SCRIPT = 'mkfifo /dev/go; exec 3<>/dev/go; while read d <&3; do (exec 4<$d) 2>/dev/null; echo "$d $?"; done';

export function deviceProber(pid: number, stdout: () => string): (dev: string) => Promise<string> {
  const fifo = `/proc/${pid}/root/dev/go`;
  let answers = 0;
  return async (dev) => {
    await waitFor('the probe fifo', () => {
      try {
        return statSync(fifo).isFIFO();
      } catch {
        return false;
      }
    });
    writeFileSync(fifo, `${dev}\n`);
    answers++;
    const lines = await waitFor(`the answer for ${dev}`, () => {
      const l = stdout()
        .split('\n')
        .filter((x) => x.startsWith('/dev/'));
      return l.length >= answers && l;
    });
    return lines[answers - 1];
  };
}

/** Bind a host device node into the container (the standard devices never include it). */
export const bindDevice = (path: string) => (s: Spec) => {
  s.mounts!.push({ destination: path, type: 'bind', source: path, options: ['bind'] });
};
