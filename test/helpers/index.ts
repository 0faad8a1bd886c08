// Helpers for the runtime tests: run the CLI, make bundles and state roots that clean up after
// themselves, and read what the kernel shows about a process.
export { REPO, CLI, runt, runtAsync, runtArgv, errorLines, describe, type RuntOptions, type RuntResult, type RuntProcess } from './runt.js';
export { makeBundle, sourceRootfs, type Bundle } from './bundle.js';
export { stateRoot, type StateRoot, type OciState } from './state-root.js';
export { onTeardown, removeAtTeardown } from './cleanup.js';
export { uniqueId } from './ids.js';
export { waitFor, waitForFile } from './poll.js';
export { cgroupDirsNamed, hostMountsNaming, leftovers } from './leftovers.js';
export {
  procStatus,
  parseStatus,
  statusNumbers,
  nsInode,
  mountinfo,
  parseMountinfo,
  mountAt,
  procState,
  isGone,
  cmdline,
  processesMentioning,
  capMask,
  type MountInfo,
} from './proc.js';
export { makeNetNs, netnsMissing, type NetNs } from './netns.js';
