// Resource statistics in runc's `events --stats` shape (filled in by stage B).
import type { CgroupStats } from './manager.js';
import type { V1Manager } from './v1.js';

export function v1Stats(_m: V1Manager): CgroupStats {
  return {};
}

export function v2Stats(_dir: string): CgroupStats {
  return {};
}
