// `containerd-shim-runt-v2 start`: run in the bundle by containerd; hands the container to the shim
// of its group (a pod: io.kubernetes.cri.sandbox-id; no group: the namespace's shared shim) with
// a Claim (claim.ts) when one runs, or starts one, then prints the address. Started by the native front (csrc/shim_front.cc), this process becomes the
// shim; started as bin/containerd-shim-runt-v2.cjs, it spawns a detached copy of itself.
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ShimArgs } from './args.js';
import { shimAddressOf, socketPath } from './address.js';
import { claimShim, writeAddress } from './claim.js';

/** How long `start` waits for the group's socket to be free: a shim that refuses a claim is
 *  exiting, and removes its socket as it begins to. */
const CLAIM_DEADLINE_MS = 10_000;

/** The group's shim: the address of one listening already that took the container (`fd`
 *  undefined), or a new socket listening at the group's address (`fd`, and the socket file's
 *  `inode` as bound), for this process or a child to serve. */
async function claim(args: ShimArgs): Promise<{ address: string; path: string; fd?: number; inode?: string }> {
  const bundle = process.cwd();
  const address = shimAddressOf(bundle, args.address, args.namespace, args.id);
  const path = socketPath(address);
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  const deadline = Date.now() + CLAIM_DEADLINE_MS;
  for (;;) {
    // A running shim of the group takes the container (and writes the address file): no addon
    // to load then.
    const found = await claimShim(path, args, bundle);
    if (found === 'claimed') return { address, path };
    if (found === 'legacy') {
      writeAddress(bundle, address);
      return { address, path };
    }
    const { native } = await import('../native.js');
    let fd: number;
    try {
      fd = native().listenUnix(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      // Still nobody listening on the file: a shim that died without removing it. Otherwise
      // another start of the group won the race, or a shim refused the container: ask again.
      if (found === 'stale' && (await claimShim(path, args, bundle)) === 'stale') removeSocket(path);
      else if (Date.now() > deadline) throw new Error(`the shim at ${address} neither takes the container nor goes away`);
      else await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    let inode: string;
    try {
      const st = statSync(path);
      inode = `${st.dev}:${st.ino}`;
      writeAddress(bundle, address);
    } catch (e) {
      closeSync(fd);
      removeSocket(path);
      throw e;
    }
    return { address, path, fd, inode };
  }
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
  const { address, path, fd, inode } = await claim(args);
  if (fd === undefined) return address;
  try {
    // Loaded here, not at the top: the front's `start` (startInPlace) spawns nothing, and
    // child_process with net and streams costs about 9 ms of Node's start before the address.
    const { spawn } = await import('node:child_process');
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
        '-socket-inode',
        inode!,
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
  await serve({ ...args, socket: claimed.path, socketInode: claimed.inode! }, claimed.fd);
}
