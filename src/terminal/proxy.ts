// runt as the terminal of a container process (foreground `run`/`exec -t` without a console socket):
// runt's stdin goes to the pty master and the master's output to runt's stdout. When runt's stdin is
// a terminal it is put in raw mode (the container's line discipline does the echoing and ^C), window
// size changes are passed on, and the terminal is restored however runt ends.
import tty from 'node:tty';
import { native } from '../native.js';

export interface TerminalProxy {
  /** Resolves once the container side has hung up (every holder of the pty's other end closed it). */
  readonly closed: Promise<void>;
  /** Waits (at most `graceMs`) for the output still buffered in the pty, then stops. */
  finish(graceMs?: number): Promise<void>;
  /** Stops copying and restores runt's terminal. Idempotent. */
  stop(): void;
}

export interface ProxyIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

export function proxyTerminal(masterFd: number, io: ProxyIo = { stdin: process.stdin, stdout: process.stdout }): TerminalProxy {
  const { stdin, stdout } = io;
  // A tty stream on the master reads and writes it through the event loop (the fd becomes non-blocking).
  const master = new tty.ReadStream(masterFd);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  // EIO is how a pty master reports that the other side is gone: the normal end.
  master.on('error', () => resolveClosed());
  master.on('end', () => resolveClosed());
  master.on('close', () => resolveClosed());
  master.on('data', (chunk: Buffer) => stdout.write(chunk));

  const resize = () => {
    const [cols, rows] = stdout.isTTY ? stdout.getWindowSize() : [0, 0];
    if (rows > 0 && cols > 0) {
      try {
        native().setWinsize(masterFd, rows, cols);
      } catch {
        /* the pty is gone */
      }
    }
  };
  resize();
  process.on('SIGWINCH', resize);

  // Not stdin.setRawMode: libuv's raw mode keeps output processing, which would turn the
  // container's "\r\n" into "\r\r\n".
  const stdinFd = (stdin as NodeJS.ReadStream & { fd?: number }).fd ?? 0;
  let saved: Buffer | undefined;
  if (stdin.isTTY) {
    saved = native().makeRaw(stdinFd);
    process.once('exit', restore);
  }
  function restore(): void {
    if (!saved) return;
    try {
      native().restoreTerminal(stdinFd, saved);
    } catch {
      /* stdin is gone */
    }
    saved = undefined;
  }
  const forward = (chunk: Buffer) => {
    if (!master.destroyed) master.write(chunk);
  };
  stdin.on('data', forward);
  stdin.resume();

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('SIGWINCH', resize);
    stdin.off('data', forward);
    stdin.pause();
    restore();
    process.off('exit', restore);
    master.destroy();
  };
  return {
    closed,
    finish: async (graceMs = 1000) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
      stop();
    },
    stop,
  };
}
