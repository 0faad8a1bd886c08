// The container's stdin, stdout and stderr as the library hands them over: inherited, /dev/null, a
// caller's fd, or a new pipe whose parent end becomes a Node stream.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { native } from '../native.js';
import { InvalidArgumentError } from '../errors.js';

/** 'inherit' (or -1): this process's fd; 'ignore': /dev/null; 'pipe': a pipe read or written through
 *  a stream on the handle; a number: that fd of this process (it stays the caller's to close). */
export type StdioOption = 'inherit' | 'ignore' | 'pipe' | number;

export interface PreparedStdio {
  /** What the init gets as 0, 1, 2 (-1: inherit). */
  fds: [number, number, number];
  /** Parent ends of the pipes, as streams. */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Close this process's copies of the fds handed to the init (once it has its own). */
  closeChildEnds(): void;
  /** On failure: close everything, the streams included. */
  destroy(): void;
}

export async function prepareStdio(opt: StdioOption | [StdioOption, StdioOption, StdioOption] | undefined): Promise<PreparedStdio> {
  const each: StdioOption[] = Array.isArray(opt) ? opt : [opt ?? 'inherit', opt ?? 'inherit', opt ?? 'inherit'];
  if (each.length !== 3) throw new InvalidArgumentError('stdio: expected one option or an array of three');
  // node:net (and with it every stream module) only when a pipe is asked for: the CLI never does.
  const net = each.includes('pipe') ? await import('node:net') : undefined;
  const fds: [number, number, number] = [-1, -1, -1];
  const childEnds: number[] = [];
  const streams: Array<Socket | null> = [null, null, null];
  try {
    each.forEach((o, i) => {
      if (o === 'inherit' || o === -1) return;
      if (typeof o === 'number') {
        if (!Number.isInteger(o) || o < 0) throw new InvalidArgumentError(`stdio[${i}]: ${o} is not an fd`);
        fds[i] = o;
      } else if (o === 'ignore') {
        fds[i] = openSync('/dev/null', i === 0 ? fsc.O_RDONLY : fsc.O_WRONLY);
        childEnds.push(fds[i]);
      } else if (o === 'pipe') {
        const [r, w] = native().pipe();
        const [mine, theirs] = i === 0 ? [w, r] : [r, w];
        fds[i] = theirs;
        childEnds.push(theirs);
        streams[i] = new net!.Socket({ fd: mine, readable: i !== 0, writable: i === 0 });
      } else {
        throw new InvalidArgumentError(`stdio[${i}]: unknown option ${JSON.stringify(o)}`);
      }
    });
  } catch (e) {
    for (const fd of childEnds) closeSync(fd);
    for (const s of streams) s?.destroy();
    throw e;
  }
  const closeChildEnds = () => {
    for (const fd of childEnds.splice(0)) closeSync(fd);
  };
  return {
    fds,
    stdin: streams[0],
    stdout: streams[1],
    stderr: streams[2],
    closeChildEnds,
    destroy: () => {
      closeChildEnds();
      for (const s of streams) s?.destroy();
    },
  };
}
