// Runtime-side hooks, with src/hooks.ts loaded only when a spec has hooks of that kind: it brings
// in node:child_process (and node:net), which costs start, delete and create tens of milliseconds
// of Node start-up in the usual case of no hooks at all.
import type { Hook, HookName, State } from '../spec/types.js';

type Hooks = Partial<Record<HookName, Hook[]>> | undefined;

export async function runHooks(hooks: Hooks, name: HookName, state: State): Promise<void> {
  if (!hooks?.[name]?.length) return;
  await (await import('../hooks.js')).runHooks(hooks, name, state);
}

export async function runHooksWarn(hooks: Hooks, name: HookName, state: State, warn: (msg: string) => void): Promise<void> {
  if (!hooks?.[name]?.length) return;
  await (await import('../hooks.js')).runHooksWarn(hooks, name, state, warn);
}
