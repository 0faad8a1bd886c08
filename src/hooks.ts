// OCI hooks run by the runtime itself (prestart, createRuntime, poststart, poststop): each gets the
// state JSON on stdin, its own args and env, and is killed when its timeout passes.
import { spawn } from 'node:child_process';
import type { Hook, HookName, State } from './spec/types.js';
import { HookError } from './errors.js';

export async function runHook(hook: Hook, state: State, where: string): Promise<void> {
  const args = hook.args ?? [hook.path];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0] ?? hook.path,
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, hook.timeout * 1000)
      : undefined;
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(JSON.stringify(state));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HookError(`${where}: ${hook.path}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new HookError(`${where}: ${hook.path}: timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else {
        const why = signal ? `killed by ${signal}` : `exited with status ${code}`;
        const detail = stderr.trim().split('\n').pop();
        reject(new HookError(`${where}: ${hook.path} ${why}${detail ? `: ${detail}` : ''}`));
      }
    });
  });
}

/** Run the hooks of one kind in order; the first failure stops the rest and is thrown. */
export async function runHooks(hooks: Partial<Record<HookName, Hook[]>> | undefined, name: HookName, state: State): Promise<void> {
  const list = hooks?.[name] ?? [];
  for (let i = 0; i < list.length; i++) await runHook(list[i], state, `hooks.${name}[${i}]`);
}

/** Like runHooks, but a failure is only reported (poststart and poststop must not fail the operation). */
export async function runHooksWarn(
  hooks: Partial<Record<HookName, Hook[]>> | undefined,
  name: HookName,
  state: State,
  warn: (msg: string) => void,
): Promise<void> {
  const list = hooks?.[name] ?? [];
  for (let i = 0; i < list.length; i++) {
    try {
      await runHook(list[i], state, `hooks.${name}[${i}]`);
    } catch (e) {
      warn((e as Error).message);
    }
  }
}
