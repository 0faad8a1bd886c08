// Handing a seccomp notify listener to the agent at linux.seccomp.listenerPath (config-linux.md,
// "The Container Process State"): one connection per listener, the state as JSON with the fd
// attached (SCM_RIGHTS) to the first message, then the connection is closed.
import type { ContainerProcessState, State } from '../spec/types.js';
import { native } from '../native.js';
import { RuntError } from '../errors.js';

export function containerProcessState(state: State, pid: number, metadata: string | undefined): ContainerProcessState {
  const cps: ContainerProcessState = { ociVersion: state.ociVersion, fds: ['seccompFd'], pid, state };
  if (metadata !== undefined) cps.metadata = metadata;
  return cps;
}

/** Sends the listener and the state; the caller still owns (and closes) listenerFd. */
export function sendToSeccompAgent(listenerPath: string, listenerFd: number, cps: ContainerProcessState): void {
  try {
    native().sendFd(listenerPath, listenerFd, JSON.stringify(cps));
  } catch (e) {
    throw new RuntError(
      'ESECCOMP_AGENT',
      `linux.seccomp.listenerPath: cannot send the seccomp listener to ${listenerPath}: ${(e as Error).message}`,
    );
  }
}
