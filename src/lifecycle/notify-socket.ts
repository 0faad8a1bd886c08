// NOTIFY_SOCKET, the sd_notify proxy (what runc does for systemd's Type=notify services and for
// engines that pass the variable on): when `create` or `run` finds NOTIFY_SOCKET in its
// environment, the container gets a socket of its own at /run/notify/notify.sock (the directory
// <state>/notify bound read-only, NOTIFY_SOCKET set in the process's environment). `start` binds that
// socket before it lets the init exec, waits for a datagram with READY=1 (or for the init to exit),
// and relays it to the caller's NOTIFY_SOCKET with MAINPID= the init's pid, then returns.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { isAlive } from '../state/process.js';
import type { Mount } from '../spec/types.js';

export const NOTIFY_IN_CONTAINER = '/run/notify/notify.sock';

/** The host NOTIFY_SOCKET to relay to, when the variable names a socket (a path or "@abstract"). */
export function hostNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.NOTIFY_SOCKET;
  return v && (v.startsWith('/') || v.startsWith('@')) ? v : undefined;
}

/** Creates <stateDir>/notify and returns the mount and the environment entry for the container. */
export function prepareNotify(stateDir: string): { mount: Mount; env: string } {
  const dir = join(stateDir, 'notify');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return {
    mount: { destination: '/run/notify', type: 'bind', source: dir, options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'] },
    env: `NOTIFY_SOCKET=${NOTIFY_IN_CONTAINER}`,
  };
}

/** Binds the container's socket (before the init may exec and write to it). */
export function bindNotify(stateDir: string): number {
  const path = join(stateDir, 'notify', 'notify.sock');
  rmSync(path, { force: true });
  return native().bindUnixDgram(path, 0o777);
}

/** Waits for READY=1 on the container's socket (or for the init to exit), relays it to `host` with
 *  MAINPID, closes the socket. The init's liveness is looked at every 100 ms while nothing arrives. */
export async function relayReady(stateDir: string, fd: number, host: string, initPid: number, startTime: number): Promise<void> {
  const n = native();
  try {
    for (;;) {
      for (let msg = n.recvDgram(fd); msg !== null; msg = n.recvDgram(fd)) {
        if (msg.split('\n').includes('READY=1')) {
          n.sendUnixDgram(host, `MAINPID=${initPid}\n${msg}`);
          return;
        }
      }
      if (!isAlive(initPid, startTime)) {
        // Nothing more will come: wake the pending watch on the socket so that it does not keep
        // the event loop alive, then stop.
        n.sendUnixDgram(join(stateDir, 'notify', 'notify.sock'), '');
        await n.whenReadable(fd);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        n.whenReadable(fd),
        new Promise<void>((r) => {
          timer = setTimeout(r, 100);
        }),
      ]);
      clearTimeout(timer);
    }
  } finally {
    n.close(fd);
  }
}
