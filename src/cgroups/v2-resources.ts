// Writes linux.resources into a cgroup v2 directory (filled in by stage B).
export function applyV2Resources(_dir: string, _resources: unknown): void {}
