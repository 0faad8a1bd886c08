// What every controller module provides: its part of linux.resources as planned writes, for each
// cgroup version. The list of modules, in the order their writes go, is in index.ts.
import type { Resources } from '../../spec/types.js';
import type { WritePlanner } from '../writes.js';

export interface CgroupController {
  /** The linux.resources key the module serves ("memory", "blockIO", ...). */
  readonly resource: keyof Resources;
  v1(r: Resources, c: WritePlanner): void;
  v2(r: Resources, c: WritePlanner): void;
}

export const F = 'linux.resources';

/** A number that means "set": present and not 0 (OCI's zero values leave a limit alone). */
export const isSet = (n: number | undefined): n is number => n !== undefined && n !== 0;
