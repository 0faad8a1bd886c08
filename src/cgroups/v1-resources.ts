// Writes linux.resources into the v1 hierarchies (filled in by stage B).
import type { V1Manager } from './v1.js';

export function applyV1Resources(_m: V1Manager, _resources: unknown): void {}
