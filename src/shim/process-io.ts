// A task process's stdio from the paths containerd gives (fifos the client reads and writes; a
// plain path or file:// URI is a file appended to; a binary:// URI is a logging program given the
// output's pipes, log-binary.ts).
//
// Without a terminal, stdout and stderr are the fifos themselves: the process writes straight into
// them, no copy through the shim. The shim first opens each fifo for reading and keeps that fd until
// the process is gone, so that the process never gets SIGPIPE while the client is away (containerd
// restarting, ctr gone): its writes wait in the fifo instead. stdin is copied: a fifo's reader sees
// end-of-file while no writer has opened it yet, so the process gets a pipe that the shim fills
// from the fifo and closes when the client closes its end (poll reports the hang-up only after a
// writer came and went) or calls CloseIO.
//
// With a terminal, the pty master comes back from the library; the shim copies the stdin fifo to
// it and its output to the stdout fifo, and ResizePty sets its window size.
import { closeSync, constants as fsc, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import type { Writable } from 'node:stream';
import { native } from '../native.js';
import type { StdioOption } from '../lifecycle/stdio.js';
import { CODE, StatusError } from './ttrpc-status.js';
import { isBinaryUri, startLogger, type Logger } from './log-binary.js';

export interface IoPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

function filePath(uri: string): string | null {
  if (uri.startsWith('file://')) return uri.slice('file://'.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return null;
  return uri;
}

/** For writing: [fd to hand over, keeper fd to hold while the process lives (-1: none)]. */
function openOutput(uri: string): [number, number] {
  const path = filePath(uri);
  if (path === null) throw new StatusError(CODE.UNIMPLEMENTED, `stdio ${uri}: only fifo and file:// paths are supported`);
  let keeper = -1;
  try {
    keeper = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    if (!fstatSync(keeper).isFIFO()) {
      closeSync(keeper);
      keeper = -1;
      return [openSync(path, fsc.O_WRONLY | fsc.O_APPEND), -1];
    }
    return [openSync(path, fsc.O_WRONLY), keeper];
  } catch (e) {
    if (keeper >= 0) closeSync(keeper);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return [openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600), -1];
    }
    throw e;
  }
}

export class ProcessIO {
  /** What the library gets as the process's stdio. */
  readonly stdio: [StdioOption, StdioOption, StdioOption] = ['ignore', 'ignore', 'ignore'];
  private readonly toClose: number[] = [];
  private readonly keepers: number[] = [];
  private stdinFifo = -1;
  private stdinEnd?: () => void;
  private stdinStream?: net.Socket;
  /** CloseIO came before the process started (ctr sends it as soon as its stdin is copied). */
  private stdinCloseRequested = false;
  private master = -1;
  private masterStream?: tty.ReadStream;
  private output?: net.Socket;
  private outputDone?: Promise<void>;
  private closed = false;
  private logger?: Logger;
  /** Resolves when the process may start: at once, or once a binary:// logger is ready. */
  readonly ready: Promise<void> = Promise.resolve();

  /** `owner`: the task's id and containerd namespace, for a binary:// logger's environment. */
  constructor(
    readonly paths: IoPaths,
    owner: { id: string; namespace: string } = { id: '', namespace: '' },
  ) {
    try {
      // As containerd's runc shim: a binary:// stdout takes stderr too, whatever stderr says.
      if (paths.stdout && isBinaryUri(paths.stdout)) {
        const logger = startLogger(paths.stdout, owner.id, owner.namespace);
        this.logger = logger;
        this.toClose.push(logger.stdout, logger.stderr);
        this.ready = logger.ready;
        this.ready.catch(() => {}); // an exec's is awaited only at its Start
      }
      if (paths.stdin) {
        const path = filePath(paths.stdin);
        if (path === null) throw new StatusError(CODE.UNIMPLEMENTED, `stdin ${paths.stdin}: only fifo paths are supported`);
        this.stdinFifo = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
        if (!paths.terminal) this.stdio[0] = 'pipe';
      }
      if (paths.terminal) {
        if (this.logger) {
          this.toClose.splice(this.toClose.indexOf(this.logger.stdout), 1); // the stream owns it
          this.output = new net.Socket({ fd: this.logger.stdout, readable: false, writable: true });
          this.output.on('error', () => {});
        } else if (paths.stdout) {
          const [fd, keeper] = openOutput(paths.stdout);
          if (keeper >= 0) this.keepers.push(keeper);
          this.output = new net.Socket({ fd, readable: false, writable: true });
          this.output.on('error', () => {});
        }
        return;
      }
      let stdoutFd = -1;
      if (this.logger) {
        this.stdio[1] = this.logger.stdout;
        this.stdio[2] = this.logger.stderr;
        return;
      }
      if (paths.stdout) {
        const [fd, keeper] = openOutput(paths.stdout);
        stdoutFd = fd;
        this.toClose.push(fd);
        if (keeper >= 0) this.keepers.push(keeper);
        this.stdio[1] = fd;
      }
      if (paths.stderr) {
        if (paths.stderr === paths.stdout) {
          this.stdio[2] = stdoutFd;
        } else {
          const [fd, keeper] = openOutput(paths.stderr);
          this.toClose.push(fd);
          if (keeper >= 0) this.keepers.push(keeper);
          this.stdio[2] = fd;
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The library's onTerminal: the pty master of the process. */
  readonly onTerminal = (masterFd: number): void => {
    this.master = masterFd;
    const stream = new tty.ReadStream(masterFd);
    this.masterStream = stream;
    const out = this.output;
    this.outputDone = new Promise((resolve) => {
      // EIO is how a master reports that every holder of the other side closed it: the end.
      const end = () => {
        out?.end();
        resolve();
      };
      stream.on('data', (chunk: Buffer) => out?.write(chunk));
      stream.on('error', end);
      stream.on('end', end);
      stream.on('close', end);
    });
    if (this.stdinFifo >= 0) {
      this.copyStdin(
        (chunk) => {
          for (let off = 0; off < chunk.length;) {
            try {
              off += writeSync(masterFd, chunk, off);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
            }
          }
        },
        () => {},
      );
    }
  };

  /** After create/exec: the library's stdin pipe (when not a terminal), and the handed-over fds closed. */
  attach(stdin: Writable | null): void {
    for (const fd of this.toClose.splice(0)) closeSync(fd);
    if (stdin && this.stdinFifo >= 0) {
      stdin.on('error', () => {});
      this.copyStdin(
        (chunk) => stdin.write(chunk),
        () => stdin.end(),
      );
    }
  }

  private copyStdin(write: (chunk: Buffer) => void, end: () => void): void {
    // A stream (libuv) on the fifo, not a raw poll: the fd may be closed at any time (CloseIO, exit)
    // and only a handle the event loop owns can be closed under a pending watch safely.
    const fifo = new net.Socket({ fd: this.stdinFifo, readable: true, writable: false });
    this.stdinStream = fifo;
    fifo.on('data', (chunk: Buffer) => write(chunk));
    fifo.on('error', () => this.stdinEnd?.());
    fifo.on('end', () => this.stdinEnd?.());
    this.stdinEnd = () => {
      this.stdinEnd = undefined;
      this.drainStdin(write);
      end();
      fifo.destroy();
      this.stdinFifo = -1;
    };
    if (this.stdinCloseRequested) this.stdinEnd();
  }

  /** Copy what the stdin fifo still holds (written before the client's CloseIO). */
  private drainStdin(write: (chunk: Buffer) => void): void {
    if (this.stdinFifo < 0) return;
    const buf = Buffer.allocUnsafe(65536);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.stdinFifo, buf, 0, buf.length, null);
      } catch {
        return; // EAGAIN: nothing more
      }
      if (n === 0) return;
      write(Buffer.from(buf.subarray(0, n)));
    }
  }

  /** CloseIO: what the client wrote so far goes in, then the process's stdin is closed. */
  closeStdin(): void {
    if (this.stdinEnd) this.stdinEnd();
    else this.stdinCloseRequested = true; // at start: what the fifo holds goes in, then the end
  }

  resize(width: number, height: number): void {
    if (this.closed) return; // the process has exited: nothing to size
    if (this.master < 0) throw new StatusError(CODE.FAILED_PRECONDITION, 'the process has no terminal');
    native().setWinsize(this.master, height, width);
  }

  /** Once the process has exited: the terminal's last output copied (at most graceMs). */
  async finished(graceMs = 2000): Promise<void> {
    if (this.outputDone) await Promise.race([this.outputDone, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stdinEnd?.();
    if (this.stdinFifo >= 0 && !this.stdinStream) closeSync(this.stdinFifo);
    this.stdinFifo = -1;
    for (const fd of [...this.toClose.splice(0), ...this.keepers.splice(0)]) {
      try {
        closeSync(fd);
      } catch {
        /* closed */
      }
    }
    this.masterStream?.destroy();
    this.output?.end();
    // The logger has its pipes' end of file (every writer is gone); SIGTERM as containerd's shims
    // send, so that one that waits for no end of file still ends.
    if (this.logger && this.logger.child.exitCode === null && this.logger.child.signalCode === null) this.logger.child.kill('SIGTERM');
  }
}
