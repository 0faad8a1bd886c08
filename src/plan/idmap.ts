// Idmapped bind mounts (mounts[].options "idmap" / "ridmap", config.md). The runtime prepares each
// one in its own namespaces (native idmappedTree: open_tree + mount_setattr(MOUNT_ATTR_IDMAP) with a
// user namespace holding the maps), since only a process privileged over the source's superblock
// may do it; runt-init attaches the detached mount with a moveMount step. The maps are the mount's
// uidMappings/gidMappings, or else the container's (linux.uidMappings/gidMappings).
import type { Spec, IDMapping } from '../spec/types.js';
import { PlanError } from '../errors.js';
import { parseMountOptions } from './mount-options.js';
import { MS } from './constants.js';

export interface IdmapRequest {
  /** `mounts[i]`: the key of the prepared fd in PlanContext.idmapFds. */
  field: string;
  uidMap: string;
  gidMap: string;
  /** Clone the submounts too (rbind or ridmap). */
  cloneRecursive: boolean;
  /** Idmap the submounts too (ridmap). */
  idmapRecursive: boolean;
}

const mapText = (maps: IDMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

/** Whether a mount asks for an idmapping; a non-bind mount with idmap is refused by name. */
export function idmapRequest(spec: Pick<Spec, 'linux'>, m: NonNullable<Spec['mounts']>[number], field: string): IdmapRequest | undefined {
  const opts = parseMountOptions(m.options ?? []);
  const ridmap = opts.extensions.has('ridmap');
  // Mappings without either option (config.md: they SHOULD come with one) idmap the mount itself.
  const idmap = opts.extensions.has('idmap') || (!ridmap && (m.uidMappings !== undefined || m.gidMappings !== undefined));
  if (!idmap && !ridmap) return undefined;
  const isBind = m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
  if (!isBind) throw new PlanError(`${field}.options`, `"${ridmap ? 'ridmap' : 'idmap'}" is carried out on bind mounts only`);
  const uid = m.uidMappings ?? spec.linux?.uidMappings ?? [];
  const gid = m.gidMappings ?? spec.linux?.gidMappings ?? [];
  if (!uid.length || !gid.length)
    throw new PlanError(
      `${field}.options`,
      `"${ridmap ? 'ridmap' : 'idmap'}" needs uidMappings and gidMappings (of the mount or of a user namespace)`,
    );
  return {
    field,
    uidMap: mapText(uid),
    gidMap: mapText(gid),
    cloneRecursive: ridmap || (opts.flags & MS.REC) !== 0,
    idmapRecursive: ridmap,
  };
}
