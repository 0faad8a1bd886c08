// One line to stdout or stderr with write(2). Touching process.stdout or process.stderr makes Node
// build a stream for it, which loads some 25 stream modules: several milliseconds of a command
// that prints one line of JSON and exits.
import { writeSync } from 'node:fs';

export function writeLine(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text.endsWith('\n') ? text : `${text}\n`);
  let done = 0;
  try {
    while (done < buf.length) done += writeSync(fd, buf, done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return; // the reader is gone (`runt list | head -1`)
    if (code !== 'EAGAIN') throw e;
    // A non-blocking pipe that is full: the stream waits for it.
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(done));
  }
}
