// `containerd-shim-runt-v2 start`: run in the bundle by containerd; finds the shim of the
// container's group (a pod: io.kubernetes.cri.sandbox-id) listening already, or starts one — a
// detached copy of this program given the listening socket as fd 3 — then prints the address.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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

export async function startCommand(args: ShimArgs, script: string): Promise<string> {
  const bundle = process.cwd();
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
  const group = GROUP_ANNOTATIONS.map((a) => spec.annotations?.[a]).find(Boolean) ?? args.id;
  const address = socketAddress(args.address, args.namespace, group);
  const path = socketPath(address);
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  // A pod's later containers find their shim listening: connect first (no addon to load then).
  if (await canConnect(path)) {
    writeAddress(bundle, address);
    return address;
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
      return address;
    }
    unlinkSync(path); // a shim that died without removing its socket
    fd = native().listenUnix(path);
  }
  try {
    writeAddress(bundle, address);
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // the shim makes no TLS connection; this only slows Node's start
    // RUNT_SHIM_LOG: a file for the shim's own log lines (debugging); none by default.
    const log = env.RUNT_SHIM_LOG ? openSync(env.RUNT_SHIM_LOG, 'a') : 'ignore';
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv, // the Node flags `start` was given (a wrapper's --cpu-prof, say)
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
        cwd: bundle,
        env,
        detached: true,
        stdio: ['ignore', log, log, fd],
      },
    );
    child.unref();
    if (typeof log === 'number') closeSync(log);
  } catch (e) {
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
    throw e;
  } finally {
    closeSync(fd);
  }
  return address;
}
