// The init's uid and gid maps (linux.uidMappings/gidMappings), written by the runtime at the init's
// first sync. Root writes /proc/PID/{uid,gid}_map itself. Rootless (rootless.ts): the caller's own
// id is written directly (the gid map after setgroups "deny"); any other range goes through the
// setuid helpers newuidmap/newgidmap, which check it against /etc/subuid and /etc/subgid
// (node:child_process loads only then).
import { RuntError } from '../errors.js';
import { idMapHelper, idMapMethod, type IdMapping } from '../rootless.js';
import { writeProcFile } from '../security/procfs.js';

const fmt = (maps: IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n');

export function writeIdMaps(pid: number, linux: { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] }): void {
  const how = idMapMethod(linux);
  if (linux.uidMappings?.length) {
    if (how.uid === 'write') writeProcFile(`${pid}/uid_map`, fmt(linux.uidMappings));
    else runHelper('newuidmap', 'linux.uidMappings', pid, linux.uidMappings);
  }
  if (linux.gidMappings?.length) {
    if (how.gid === 'write') {
      if (how.setgroupsDenied) writeProcFile(`${pid}/setgroups`, 'deny');
      writeProcFile(`${pid}/gid_map`, fmt(linux.gidMappings));
    } else runHelper('newgidmap', 'linux.gidMappings', pid, linux.gidMappings);
  }
}

function runHelper(name: 'newuidmap' | 'newgidmap', field: string, pid: number, maps: IdMapping[]): void {
  const helper = idMapHelper(name);
  if (!helper) {
    throw new RuntError('EINVALID_SPEC', `${field}: mapping more than your own id needs ${name} (apt-get install uidmap)`);
  }
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  try {
    process.getBuiltinModule('node:child_process').execFileSync(helper, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const why = String((e as { stderr?: string }).stderr ?? (e as Error).message)
      .trim()
      .split('\n')
      .pop();
    const file = name === 'newuidmap' ? '/etc/subuid' : '/etc/subgid';
    throw new RuntError('EINVALID_SPEC', `${field}: ${name} refused the mapping (check ${file}): ${why}`);
  }
}
