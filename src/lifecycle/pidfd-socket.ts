// `--pidfd-socket PATH` (runc 1.2+ on create, run and exec): the runtime connects to the unix socket
// at PATH and sends a pidfd of the container process with SCM_RIGHTS, as --console-socket sends the
// pty master. A caller holding it can signal and wait for that exact process, with no pid reuse race.
import { native } from '../native.js';
import { RuntError } from '../errors.js';

export function sendPidfd(socketPath: string, pidfd: number): void {
  try {
    native().sendFd(socketPath, pidfd, 'pidfd');
  } catch (e) {
    throw new RuntError('EINVALID_ARGUMENT', `--pidfd-socket ${socketPath}: ${(e as Error).message}`);
  }
}
