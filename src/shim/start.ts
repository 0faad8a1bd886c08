// `containerd-shim-runt-v2 start`: run in the bundle by containerd; finds the shim of the
// container's group (a pod: io.kubernetes.cri.sandbox-id) listening already, or starts one, then
// prints the address. Started by the native front (csrc/shim_front.cc), this process becomes the
// shim; started as bin/containerd-shim-runt-v2.cjs, it spawns a detached copy of itself.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { ShimArgs } from './args.js';
import { GROUP_ANNOTATIONS, socketAddress, socketPath } from './address.js';

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The address file containerd reads back when it restarts (written atomically, as containerd's shims do). */
function writeAddress(bundle: string, address: string): void {
  const tmp = join(bundle, '.address');
  writeFileSync(tmp, address, { mode: 0o600 });
  renameSync(tmp, join(bundle, 'address'));
}

/** The group's shim: the address of one listening already (`fd` undefined), or a new socket
 *  listening at the group's address (`fd`), for this process or a child to serve. */
async function claim(args: ShimArgs): Promise<{ address: string; path: string; fd?: number }> {
  const bundle = process.cwd();
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
  const group = GROUP_ANNOTATIONS.map((a) => spec.annotations?.[a]).find(Boolean) ?? args.id;
  const address = socketAddress(args.address, args.namespace, group);
  const path = socketPath(address);
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  // A pod's later containers find their shim listening: connect first (no addon to load then).
  if (await canConnect(path)) {
    writeAddress(bundle, address);
    return { address, path };
  }
  const { native } = await import('../native.js');
  let fd: number;
  try {
    fd = native().listenUnix(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (await canConnect(path)) {
      // another start of the group won the race
      writeAddress(bundle, address);
      return { address, path };
    }
    unlinkSync(path); // a shim that died without removing its socket
    fd = native().listenUnix(path);
  }
  try {
    writeAddress(bundle, address);
  } catch (e) {
    closeSync(fd);
    removeSocket(path);
    throw e;
  }
  return { address, path, fd };
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone */
  }
}

/** `start` run by bin/containerd-shim-runt-v2.cjs itself: the shim, if one is needed, is a detached
 *  copy of this program given the listening socket as fd 3. Returns the address to print. */
export async function startCommand(args: ShimArgs, script: string): Promise<string> {
  const { address, path, fd } = await claim(args);
  if (fd === undefined) return address;
  try {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // the shim makes no TLS connection; this only slows Node's start
    // RUNT_SHIM_LOG: a file for the shim's own log lines (debugging); none by default.
    const log = env.RUNT_SHIM_LOG ? openSync(env.RUNT_SHIM_LOG, 'a') : 'ignore';
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv, // the Node flags `start` was given (a wrapper's --cpu-prof, say)
        // V8's lite mode (no optimizing compiler): about 8 MB less RSS for a process that waits on
        // syscalls; csrc/shim_front.cc runs the shim it starts the same way.
        '--lite-mode',
        '--no-expose-wasm', // lite mode turns WebAssembly off anyway, with a warning unless it is asked
        script,
        '-namespace',
        args.namespace,
        '-id',
        args.id,
        '-address',
        args.address,
        '-publish-binary',
        args.publishBinary,
        '-socket',
        path,
        ...(args.debug ? ['-debug'] : []),
      ],
      {
        cwd: process.cwd(),
        env,
        detached: true,
        stdio: ['ignore', log, log, fd],
      },
    );
    child.unref();
    if (typeof log === 'number') closeSync(log);
  } catch (e) {
    removeSocket(path);
    throw e;
  } finally {
    closeSync(fd);
  }
  return address;
}

/** `start` run by the native front (csrc/shim_front.cc) with a pipe as `args.startFd`: the address
 *  (or the error) goes to the front, which prints it for containerd, and this process, already in
 *  a session of its own, becomes the group's shim if the group has none (else it exits). */
export async function startInPlace(args: ShimArgs): Promise<void> {
  let claimed;
  try {
    claimed = await claim(args);
  } catch (e) {
    writeSync(args.startFd, `error containerd-shim-runt-v2 start: ${(e as Error).message}\n`);
    closeSync(args.startFd);
    process.exitCode = 1;
    return;
  }
  writeSync(args.startFd, `ok ${claimed.address}\n`);
  closeSync(args.startFd);
  if (claimed.fd === undefined) return;
  const { serve } = await import('./serve.js');
  await serve({ ...args, socket: claimed.path }, claimed.fd);
}
