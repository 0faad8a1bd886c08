// Reading what a container wrote to a pty whose master end a test holds.
import tty from 'node:tty';

/** Everything the container writes to the pty, until it hangs up. */
export function readMaster(fd: number): Promise<string> {
  return new Promise((resolve) => {
    const master = new tty.ReadStream(fd);
    let text = '';
    const done = () => {
      master.destroy();
      resolve(text);
    };
    master.on('data', (d: Buffer) => {
      text += d.toString();
    });
    master.on('error', done); // EIO: the other side is closed
    master.on('end', done);
  });
}
