// A `binary://` log URI (`ctr run --log-uri binary:///path/to/logger?key=value`), run as containerd's
// shim protocol has it: the program at the URI's path, with each query key and its first value as
// arguments and CONTAINER_ID and CONTAINER_NAMESPACE in its environment, gets the read ends of the
// process's stdout and stderr pipes as fds 3 and 4 and the write end of a third pipe as fd 5, which
// it closes once it is ready; the process starts after that. When the process is gone the logger
// gets SIGTERM (it has its pipes' end of file first).
import type { ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import net from 'node:net';
import { native } from '../native.js';
import { CODE, StatusError } from './ttrpc-status.js';

export interface Logger {
  /** Write ends of the stdout and stderr pipes, for the process. */
  stdout: number;
  stderr: number;
  /** Resolves once the logger closed fd 5 (or exited). */
  ready: Promise<void>;
  child: ChildProcess;
}

export function isBinaryUri(uri: string): boolean {
  return uri.startsWith('binary://');
}

/** The program and its arguments from a binary:// URI. */
export function loggerCommand(uri: string): { path: string; args: string[] } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new StatusError(CODE.INVALID_ARGUMENT, `log URI ${uri}: not a URI`);
  }
  const path = decodeURIComponent(url.pathname);
  if (!path.startsWith('/')) throw new StatusError(CODE.INVALID_ARGUMENT, `log URI ${uri}: the logging binary must be an absolute path`);
  const args: string[] = [];
  const seen = new Set<string>();
  for (const [key, value] of url.searchParams) {
    if (seen.has(key)) continue;
    seen.add(key);
    args.push(key, value);
  }
  return { path, args };
}

export function startLogger(uri: string, id: string, namespace: string): Logger {
  const { path, args } = loggerCommand(uri);
  const fds: number[] = [];
  try {
    const [outR, outW] = native().pipe();
    fds.push(outR, outW);
    const [errR, errW] = native().pipe();
    fds.push(errR, errW);
    const [waitR, waitW] = native().pipe();
    fds.push(waitR, waitW);
    // node:child_process only for a binary:// log (the shim's start does without it).
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn(path, args, {
      stdio: ['ignore', 'ignore', 'ignore', outR, errR, waitW],
      env: { ...process.env, CONTAINER_ID: id, CONTAINER_NAMESPACE: namespace },
      detached: true,
    });
    child.unref();
    for (const fd of [outR, errR, waitW]) {
      closeSync(fd);
      fds.splice(fds.indexOf(fd), 1);
    }
    const ready = new Promise<void>((resolve, reject) => {
      const wait = new net.Socket({ fd: waitR, readable: true, writable: false });
      const done = () => {
        wait.destroy();
        resolve();
      };
      wait.on('data', () => {});
      wait.once('end', done);
      wait.once('close', done);
      wait.once('error', done);
      child.once('error', (e) => {
        wait.destroy();
        reject(new StatusError(CODE.INVALID_ARGUMENT, `log URI ${uri}: ${e.message}`));
      });
    });
    return { stdout: outW, stderr: errW, ready, child };
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw e;
  }
}
