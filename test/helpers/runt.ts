// Running the runt CLI from tests, always as a separate process, the way engines call it.
//
// Output goes to files, never pipes: a container made by `create` (or `run -d`) inherits runt's
// stdout and stderr, so a pipe would stay open until the container exits and a caller waiting for
// end-of-file would hang.
//
// RUNT_TEST_RUNTIME=/usr/sbin/runc runs the same tests against another runtime binary, which is how
// a test's expectation can be checked against runc's behaviour. By default the CLI is the command
// users run, the package's bin (bin/runt.cjs: the bundle dist/runt-cli.cjs with its code cache, so
// `npm run build:ts` must have run); RUNT_TEST_CLI=/path/to/cli.js runs another one (e.g. the ESM
// build dist/src/cli/main.js, or a build compiled elsewhere).
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = process.env.RUNT_TEST_CLI ?? join(REPO, 'bin/runt.cjs');

// A runner started by systemd with NOTIFY_SOCKET set would make every container's start wait for
// READY=1 (as runc's does): cleared once here; the notify-socket test sets its own.
delete process.env.NOTIFY_SOCKET;

export interface RuntOptions {
  /** State root (`--root`); omitted: no --root flag. */
  root?: string;
  /** Kill runt with SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
  /** Files that receive runt's stdout and stderr (kept); by default temporary files are used. */
  stdoutFile?: string;
  stderrFile?: string;
  /** Fd for runt's stdin (default /dev/null). */
  stdin?: number;
  /** Fds that runt receives as 3, 4, ... (for --preserve-fds). */
  extraFds?: number[];
  /** A command that runs runt (prepended, e.g. a program that changes fd flags and execs). */
  wrapper?: string[];
  cwd?: string;
}

export interface RuntResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RuntProcess {
  pid: number;
  /** Resolves when runt exits (its outputs read at that moment). */
  done: Promise<RuntResult>;
}

/** The argv that runs runt (or RUNT_TEST_RUNTIME) with `args`. */
export function runtArgv(args: string[], root?: string): string[] {
  const rootArgs = root ? ['--root', root] : [];
  const other = process.env.RUNT_TEST_RUNTIME;
  return other ? [other, ...rootArgs, ...args] : [process.execPath, CLI, ...rootArgs, ...args];
}

/** runt's environment: the test runner's loaders and the slow CA bundle are left out. */
function runtEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

interface Io {
  stdio: StdioOptions;
  read(): { stdout: string; stderr: string };
  close(): void;
}

function openIo(opts: RuntOptions): Io {
  const tmp = opts.stdoutFile && opts.stderrFile ? undefined : mkdtempSync('/tmp/runt-test-io-');
  const outPath = opts.stdoutFile ?? join(tmp!, 'stdout');
  const errPath = opts.stderrFile ?? join(tmp!, 'stderr');
  const out = openSync(outPath, 'a');
  const err = openSync(errPath, 'a');
  const stdin = opts.stdin ?? openSync('/dev/null', 'r');
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    stdio: [stdin, out, err, ...(opts.extraFds ?? [])],
    read: () => ({ stdout: read(outPath), stderr: read(errPath) }),
    close: () => {
      closeSync(out);
      closeSync(err);
      if (opts.stdin === undefined) closeSync(stdin as number);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Run runt and wait for it to exit. */
export function runt(args: string[], opts: RuntOptions = {}): RuntResult {
  const [cmd, ...argv] = [...(opts.wrapper ?? []), ...runtArgv(args, opts.root)];
  const io = openIo(opts);
  try {
    const r = spawnSync(cmd, argv, {
      stdio: io.stdio,
      env: runtEnv(),
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    if (r.error && !timedOut) throw r.error;
    return { code: r.status, signal: r.signal, timedOut, ...io.read() };
  } finally {
    io.close();
  }
}

/** Start runt without waiting; `done` resolves when it exits. */
export function runtAsync(args: string[], opts: RuntOptions = {}): RuntProcess {
  const [cmd, ...argv] = [...(opts.wrapper ?? []), ...runtArgv(args, opts.root)];
  const io = openIo(opts);
  const child = spawn(cmd, argv, { stdio: io.stdio, env: runtEnv(), cwd: opts.cwd });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  const done = new Promise<RuntResult>((resolvePromise, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      io.close();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const output = io.read();
      io.close();
      resolvePromise({ code, signal, timedOut, ...output });
    });
  });
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  return { pid: child.pid, done };
}

/** The non-empty lines runt wrote to stderr. */
export function errorLines(r: RuntResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** A one-line summary of a result for assertion messages. */
export function describe(r: RuntResult): string {
  return `code=${r.code} signal=${r.signal}${r.timedOut ? ' (timed out)' : ''} stderr=${JSON.stringify(r.stderr.slice(0, 500))}`;
}
