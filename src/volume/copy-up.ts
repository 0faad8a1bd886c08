// Copy-up: a named volume that is empty when first mounted gets a copy of what the image (or the
// bundle's rootfs) has at the mount's path, with modes, owners and times kept. Every file is
// reached from an open directory fd (/proc/self/fd/N/name, the openat(2) of Node's fs), opened
// with O_NOFOLLOW: a symlink in either tree is copied as a symlink and never followed, and the
// path in the rootfs is resolved as if the rootfs were / (a symlink on the way is read and looked
// up again inside the rootfs, `..` stops at its top).
import {
  closeSync, constants as fsc, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readlinkSync, readSync, symlinkSync, writeSync, type Stats,
} from 'node:fs';
import { native } from '../native.js';

const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
const at = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;
const MAX_LINKS = 40;

/** Open `path` as the container would see it with `rootfs` as its /: a directory fd, or -1 when
 *  the path does not exist or is not a directory. */
export function openInRoot(rootfs: string, path: string): number {
  const root = openSync(rootfs, DIR_FLAGS);
  const stack = [root];
  const todo = path.split('/').filter(Boolean);
  let links = 0;
  try {
    while (todo.length) {
      const comp = todo.shift()!;
      const cur = stack[stack.length - 1];
      if (comp === '.') continue;
      if (comp === '..') {
        if (stack.length > 1) closeSync(stack.pop()!);
        continue;
      }
      let st: Stats;
      try {
        st = lstatSync(at(cur, comp));
      } catch {
        return -1;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) return -1;
        const target = readlinkSync(at(cur, comp));
        if (target.startsWith('/')) while (stack.length > 1) closeSync(stack.pop()!);
        todo.unshift(...target.split('/').filter(Boolean));
        continue;
      }
      if (!st.isDirectory()) return -1;
      stack.push(openSync(at(cur, comp), DIR_FLAGS));
    }
    return stack.pop()!;
  } finally {
    for (const fd of stack) closeSync(fd);
  }
}

/** Copy the tree under the open directory `src` into the empty directory `dest` (a path runt
 *  made). Returns the number of entries copied. */
export function copyTree(srcFd: number, dest: string): number {
  const dst = openSync(dest, DIR_FLAGS);
  try {
    return copyDir(srcFd, dst);
  } finally {
    closeSync(dst);
  }
}

function copyDir(src: number, dst: number): number {
  let count = 0;
  const buf = Buffer.allocUnsafe(128 * 1024);
  for (const name of readdirSync(`/proc/self/fd/${src}`)) {
    const from = at(src, name);
    const to = at(dst, name);
    const st = lstatSync(from);
    if (st.isDirectory()) {
      const sfd = openSync(from, DIR_FLAGS);
      try {
        mkdirSync(to, { mode: 0o700 });
        const dfd = openSync(to, DIR_FLAGS);
        try {
          count += copyDir(sfd, dfd);
          fchownSync(dfd, st.uid, st.gid);
          fchmodSync(dfd, st.mode & 0o7777);
          futimesSync(dfd, st.atime, st.mtime);
        } finally {
          closeSync(dfd);
        }
      } finally {
        closeSync(sfd);
      }
    } else if (st.isFile()) {
      const sfd = openSync(from, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        const now = fstatSync(sfd);
        if (!now.isFile() || now.ino !== st.ino) continue; // replaced meanwhile
        const dfd = openSync(to, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          for (;;) {
            const n = readSync(sfd, buf, 0, buf.length, null);
            if (n <= 0) break;
            for (let off = 0; off < n;) off += writeSync(dfd, buf, off, n - off);
          }
          fchownSync(dfd, now.uid, now.gid);
          fchmodSync(dfd, now.mode & 0o7777); // after chown: chown clears setuid/setgid
          futimesSync(dfd, now.atime, now.mtime);
        } finally {
          closeSync(dfd);
        }
      } finally {
        closeSync(sfd);
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
      lchownSync(to, st.uid, st.gid);
      lutimesSync(to, st.atime, st.mtime);
    } else if (st.isFIFO()) {
      native().mkfifo(to, st.mode & 0o7777);
      lchownSync(to, st.uid, st.gid);
    } else {
      continue; // device nodes and sockets are not copied (Node cannot mknod them)
    }
    count++;
  }
  return count;
}
