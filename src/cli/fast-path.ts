// Start-up fast path. Engines start runt once per operation, and loading yargs (plus every
// command) costs more than the operation itself; so the commands engines call in a loop are parsed
// here, by reading each command's own yargs builder into a table (positionals, options, types,
// aliases, defaults) and filling the same argv object yargs would. Anything this parser is not
// sure about — help, version, an unknown or repeated option, `--`, `--flag=false`, a builder that
// uses more than positional() and option() — returns null and the full yargs CLI takes over, so
// errors and help texts stay exactly yargs's.
import { writeLine } from './write-line.js';
import type { CommandModule } from 'yargs';
import { GLOBAL_OPTIONS, globalOption, type GlobalOption } from './global-options.js';
import { runtVersion } from '../package-root.js';
import { native } from '../native.js';
import { OCI_VERSION } from '../spec/constants.js';

/** Commands worth the fast path, and where each one's module lives (loaded on its own). */
const HOT: Record<string, () => Promise<CommandModule<never, never>>> = {
  state: async () => (await import('./commands/state.js')).stateCommand as never,
  start: async () => (await import('./commands/start.js')).startCommand as never,
  kill: async () => (await import('./commands/kill.js')).killCommand as never,
  delete: async () => (await import('./commands/delete.js')).deleteCommand as never,
  create: async () => (await import('./commands/create.js')).createCommand as never,
  run: async () => (await import('./commands/run.js')).runCommand as never,
  exec: async () => (await import('./commands/exec.js')).execCommand as never,
};

/** `image SUB`: the image commands a user or a script runs most (the others go to yargs). */
const HOT_IMAGE: Record<string, () => Promise<CommandModule<never, never>>> = {
  pull: async () => (await import('./commands/image.js')).imagePullCommand as never,
  ls: async () => (await import('./commands/image.js')).imageLsCommand as never,
  list: async () => (await import('./commands/image.js')).imageLsCommand as never,
};

interface OptionSpec {
  name: string;
  type: 'string' | 'boolean' | 'number';
  array: boolean;
  default?: unknown;
  alias: string[];
  choices?: readonly unknown[];
}

interface PositionalSpec {
  name: string;
  required: boolean;
  variadic: boolean;
}

interface CommandSpec {
  name: string;
  positionals: PositionalSpec[];
  options: OptionSpec[];
}

class Unsupported extends Error {}

// runc's global flags, declared once in global-options.ts (yargs-cli.ts registers the same ones).
const GLOBALS: OptionSpec[] = Object.entries(GLOBAL_OPTIONS).map(([name, o]: [string, GlobalOption]) => ({
  name,
  type: o.type,
  array: false,
  default: o.default,
  alias: [],
  choices: o.choices,
}));

/** What a builder declares, recorded through a stand-in for yargs's Argv. */
function readCommand(cmd: CommandModule<never, never>): CommandSpec {
  // A command with aliases (['ls', 'list']): the first is its name.
  const usage = String((Array.isArray(cmd.command) ? cmd.command[0] : cmd.command) ?? '').split(/\s+/);
  const positionals: PositionalSpec[] = usage.slice(1).map((p) => ({
    name: p.replace(/^[<[]|[>\]]$/g, '').replace(/\.\.$/, ''),
    required: p.startsWith('<'),
    variadic: p.endsWith('..]') || p.endsWith('..>'),
  }));
  const options: OptionSpec[] = [];
  type Opts = {
    type?: string;
    alias?: string | string[];
    default?: unknown;
    array?: boolean;
    nargs?: number;
    choices?: readonly unknown[];
    demandOption?: unknown;
    describe?: string;
  };
  const recorder: Record<string, unknown> = {};
  const known = new Set(['type', 'alias', 'default', 'array', 'nargs', 'choices', 'demandOption', 'describe']);
  const check = (o: Opts) => {
    for (const k of Object.keys(o)) if (!known.has(k)) throw new Unsupported(k);
  };
  const proxy: unknown = new Proxy(recorder, {
    get(_t, prop) {
      if (prop === 'positional')
        return (_name: string, o: Opts) => {
          check(o);
          return proxy;
        };
      if (prop === 'option') {
        return (name: string, o: Opts) => {
          check(o);
          const type = o.type ?? 'string';
          if (type !== 'string' && type !== 'boolean' && type !== 'number') throw new Unsupported(type);
          // A greedy array (no nargs: 1) takes every following word: leave that to yargs.
          if (o.array && o.nargs !== 1) throw new Unsupported('array');
          const alias = o.alias === undefined ? [] : Array.isArray(o.alias) ? o.alias : [o.alias];
          options.push({ name, type, array: o.array ?? false, default: o.default, alias, choices: o.choices });
          return proxy;
        };
      }
      throw new Unsupported(String(prop));
    },
  });
  if (typeof cmd.builder === 'function') (cmd.builder as (y: unknown) => unknown)(proxy);
  else if (cmd.builder) throw new Unsupported('builder object');
  return { name: usage[0], positionals, options };
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** argv as yargs would build it for `args`, or null when the fast path should not handle them. */
function parse(args: string[], spec: CommandSpec): Record<string, unknown> | null {
  const options = [...GLOBALS, ...spec.options];
  const byFlag = new Map<string, OptionSpec>();
  for (const o of options) {
    byFlag.set(`--${o.name}`, o);
    for (const a of o.alias) byFlag.set(a.length === 1 ? `-${a}` : `--${a}`, o);
  }
  const values = new Map<OptionSpec, unknown>();
  const words: string[] = [];
  let rest: string[] | undefined;
  const variadic = spec.positionals.find((p) => p.variadic);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (rest) {
      rest.push(a);
      continue;
    }
    // `run|create --image REF ID -- CMD…`: what follows `--` goes to argv._, as yargs puts it.
    if (a === '--' && variadic && words.length > 0) {
      rest = [];
      continue;
    }
    if (a === '--' || a === '-') return null;
    if (!a.startsWith('-')) {
      words.push(a);
      // exec: after the id, every word is the process's command line (runc's rule; yargs gets a
      // `--` there from endOptionsAtExecId and so puts the words in argv._).
      if (spec.name === 'exec' && words.length === 2) rest = [];
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const o = byFlag.get(flag);
    if (!o) return null;
    let raw: string;
    if (o.type === 'boolean') {
      if (eq > 0) return null;
      const next = args[i + 1];
      if (next === 'true' || next === 'false') return null;
      raw = 'true';
    } else if (eq > 0) {
      raw = a.slice(eq + 1);
    } else {
      if (i + 1 >= args.length) return null;
      raw = args[++i];
      if (raw.startsWith('-') && raw !== '-') return null;
    }
    let value: unknown = o.type === 'boolean' ? true : o.type === 'number' ? Number(raw) : raw;
    if (o.type === 'number' && (raw.trim() === '' || Number.isNaN(value))) return null;
    if (o.choices && !o.choices.includes(value)) return null;
    if (o.array) value = [...((values.get(o) as unknown[]) ?? []), value];
    else if (values.has(o)) return null;
    values.set(o, value);
  }
  if (words[0] !== spec.name) return null;
  const positional = words.slice(1);
  const declared = spec.positionals.filter((p) => !p.variadic);
  if (positional.length > declared.length && !variadic) return null;
  if (declared.some((p, k) => p.required && positional[k] === undefined)) return null;

  const argv: Record<string, unknown> = { _: [spec.name, ...(rest ?? [])], $0: 'runt' };
  const set = (name: string, v: unknown) => {
    argv[name] = v;
    if (name.includes('-')) argv[camel(name)] = v;
  };
  declared.forEach((p, k) => {
    if (positional[k] !== undefined) set(p.name, positional[k]);
  });
  if (variadic) set(variadic.name, positional.slice(declared.length));
  for (const o of options) {
    const v = values.has(o) ? values.get(o) : o.default;
    if (v === undefined) continue;
    set(o.name, v);
    for (const a of o.alias) set(a, v);
  }
  return argv;
}

/** The hot command named in args and the argv yargs would give its handler, or null. */
export async function fastArgv(args: string[]): Promise<{ command: CommandModule<never, never>; argv: Record<string, unknown> } | null> {
  const at = args.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && isValueOf(args[i - 1])));
  const name = at < 0 ? undefined : args[at];
  if (name === 'image') return imageArgv(args, at);
  const load = name === undefined ? undefined : HOT[name];
  if (!load) return null;
  const command = await load();
  const spec = commandSpec(command);
  const argv = spec && parse(args, spec);
  return argv && { command, argv };
}

/** `image SUB …` (SUB right after `image`): parsed as SUB's own command, with argv._ as yargs makes
 *  it for a subcommand (['image', SUB, …]). */
async function imageArgv(
  args: string[],
  at: number,
): Promise<{ command: CommandModule<never, never>; argv: Record<string, unknown> } | null> {
  const word = args[at + 1];
  const load = word === undefined ? undefined : HOT_IMAGE[word];
  if (!load) return null;
  const command = await load();
  const spec = commandSpec(command);
  if (!spec) return null;
  const argv = parse([...args.slice(0, at), spec.name, ...args.slice(at + 2)], spec);
  if (!argv) return null;
  // yargs keeps the word as typed (`list` for ls).
  argv._ = ['image', word, ...(argv._ as string[]).slice(1)];
  return { command, argv };
}

function commandSpec(command: CommandModule<never, never>): CommandSpec | null {
  try {
    return readCommand(command);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** What `runt --version` prints (yargs prints the same through .version()): runc's three lines,
 *  with the version of the libseccomp the addon is linked with (seccomp_version()). */
export function versionText(): string {
  let libseccomp = 'unknown';
  try {
    libseccomp = native().seccompVersion() ?? libseccomp;
  } catch {
    // no addon built: still print runt's own version
  }
  return `runt version ${runtVersion()}\nspec: ${OCI_VERSION}\nlibseccomp: ${libseccomp}`;
}

/** Runs a hot command and returns true, or returns false when yargs must handle the arguments. */
export async function runFastPath(args: string[], onArgv: (argv: Record<string, unknown>) => void): Promise<boolean> {
  // `runt --version` alone (engines ask it once per start-up): the text yargs would print.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
    writeLine(1, versionText());
    return true;
  }
  // -v is --version only before the command (after it, run/create's --volume): yargs decides.
  if (globalArgs(args).some((a) => a === '--version' || a === '-v')) return false;
  const fast = await fastArgv(args);
  if (!fast) return false;
  onArgv(fast.argv);
  await (fast.command.handler as (a: Record<string, unknown>) => unknown)(fast.argv);
  return true;
}

/** Global flags that take a value (the word after them is not the command). */
function isValueOf(flag: string): boolean {
  return globalOption(flag)?.type === 'string';
}

/** The words before the command: global flags and their values. */
export function globalArgs(args: string[]): string[] {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--' || !a.startsWith('-')) break;
    if (isValueOf(a)) i++;
  }
  return args.slice(0, i);
}
