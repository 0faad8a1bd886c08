// The image's User ("name", "uid", "name:group", "uid:gid") as numbers, from the image's own
// /etc/passwd and /etc/group, the way Docker resolves it.
import { imageError } from './errors.js';
import type { User } from '../spec/types.js';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

export function resolveUser(spec: string | undefined, passwd: string | undefined, group: string | undefined, image: string): User {
  if (!spec) return { uid: 0, gid: 0 };
  const [u, g] = spec.split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  const byName = users.find((p) => p.name === u);
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = users.find((p) => p.uid === uid);
    if (entry) {
      gid = entry.gid;
      name = entry.name;
    }
  } else if (byName) {
    uid = byName.uid;
    gid = byName.gid;
    name = byName.name;
  } else {
    throw imageError.store(`image ${image}: config.User "${spec}": no user "${u}" in the image's /etc/passwd`);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = groups.find((e) => e.name === g);
      if (!entry) throw imageError.store(`image ${image}: config.User "${spec}": no group "${g}" in the image's /etc/group`);
      gid = entry.gid;
    }
  }
  const additionalGids = name ? groups.filter((e) => e.members.includes(name as string) && e.gid !== gid).map((e) => e.gid) : [];
  return { uid, gid, ...(additionalGids.length ? { additionalGids } : {}) };
}
