// The receiving side of an OCI console socket (command-line-interface.md, "Console socket"): what
// an engine (conmon, containerd's shim) listens on to get the pty master of a container process.
// runt's tests use it, and so can a program that drives runt as a library or a CLI.
import { createConnection } from 'node:net';
import { rmSync } from 'node:fs';
import { native } from '../native.js';

export interface ReceivedTerminal {
  /** The pty master, close-on-exec. The receiver owns it. */
  fd: number;
  /** The data the runtime sent along (runt and runc send a name; the OCI text allows JSON). */
  data: string;
}

export class ConsoleSocket {
  private readonly fd: number;
  private closed = false;

  /** Listens at `path`, which must not exist yet. */
  constructor(readonly path: string) {
    this.fd = native().listenUnix(path);
  }

  /** The next pty master a runtime sends (one connection, one message with an fd). */
  async receive(): Promise<ReceivedTerminal> {
    const n = native();
    let conn = -1;
    while (conn < 0) {
      if (this.closed) throw new Error(`console socket ${this.path} was closed`);
      conn = n.acceptUnix(this.fd);
      if (conn < 0) await n.whenReadable(this.fd);
    }
    try {
      for (;;) {
        const msg = n.recvFd(conn);
        if (msg === null) {
          await n.whenReadable(conn);
          continue;
        }
        if (msg.fd >= 0) return { fd: msg.fd, data: msg.data };
        if (msg.data === '') throw new Error(`console socket ${this.path}: the runtime hung up without sending a terminal`);
      }
    } finally {
      n.close(conn);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A receive() still waiting for a connection is woken by one, sees `closed` and gives up.
    const wake = createConnection(this.path);
    wake.on('error', () => {});
    wake.on('connect', () => wake.destroy());
    wake.on('close', () => {
      native().close(this.fd);
      rmSync(this.path, { force: true });
    });
  }
}
