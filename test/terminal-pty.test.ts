// Terminals: with process.terminal the container gets a pty from its own devpts. A console socket
// receives the master (create, run -d, exec); without one, a foreground run/exec proxies the pty
// itself (raw mode, window size, terminal restored). These tests use a console-socket receiver and
// script(1) as the outer terminal.
import t from 'tap';
import type { Test } from 'tap';
import { readMaster } from './helpers/pty.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleSocket } from '../src/terminal/console-socket.js';
import { CLI, describe, errorLines, makeBundle, stateRoot, type Bundle } from './helpers/index.js';

function terminalBundle(t: Test, script: string, size?: { height: number; width: number }): Bundle {
  return makeBundle(t, script, (spec) => {
    spec.process!.terminal = true;
    if (size) spec.process!.consoleSize = size;
  });
}

/** A shell command line that runs runt (as the helpers do: node + the CLI, no slow CA bundle). */
function runtCommand(root: string, args: string[]): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return ['env', '-u', 'NODE_EXTRA_CA_CERTS', '-u', 'NODE_OPTIONS', process.execPath, CLI, '--root', root, ...args].map(quote).join(' ');
}

/** Runs `command` with script(1) providing the terminal; returns what appeared on it and the exit code. */
function underScript(command: string): { output: string; code: number } {
  try {
    const output = execFileSync('script', ['-qec', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    }).toString();
    return { output, code: 0 };
  } catch (e) {
    const err = e as { status: number | null; stdout?: Buffer };
    return { output: err.stdout?.toString() ?? '', code: err.status ?? -1 };
  }
}

t.test('create --console-socket: the receiver gets a pty master; the process runs on /dev/pts/N with consoleSize', async (t) => {
  const root = stateRoot(t);
  const b = terminalBundle(t, 'tty; stty size', { height: 33, width: 77 });
  const socket = new ConsoleSocket(join(b.dir, 'console.sock'));
  t.teardown(() => socket.close());
  const received = socket.receive();
  const c = root.create(b, undefined, ['--console-socket', socket.path]);
  t.equal(c.code, 0, describe(c));
  const { fd, data } = await received;
  t.ok(fd >= 0, 'an fd came with the message');
  t.ok(data.length > 0, 'with some data (the name)');
  const output = readMaster(fd);
  t.equal(root.runt(['start', c.id]).code, 0);
  const text = await output;
  t.match(text, /^\/dev\/pts\/\d+\r\n33 77\r\n$/, `tty and size: ${JSON.stringify(text)}`);
});

t.test("exec -t -d --console-socket: the exec'd process gets its own pty in the container", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('tty');
  const run = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(run.code, 0, describe(run));
  const socket = new ConsoleSocket(join(b.dir, 'console.sock'));
  t.teardown(() => socket.close());
  const received = socket.receive();
  const r = root.runt(['exec', '-t', '-d', '--console-socket', socket.path, id, 'sh', '-c', 'tty; echo $TERM; sleep 0.2']);
  t.equal(r.code, 0, describe(r));
  const text = await readMaster((await received).fd);
  t.match(text, /^\/dev\/pts\/\d+\r\n/, `tty: ${JSON.stringify(text)}`);

  // The process JSON's terminal and consoleSize (the engines' way: no --tty).
  const processFile = join(b.dir, 'process.json');
  writeFileSync(
    processFile,
    JSON.stringify({
      terminal: true,
      consoleSize: { height: 40, width: 100 },
      args: ['sh', '-c', 'stty size; sleep 0.2'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
    }),
  );
  const again = socket.receive();
  const p = root.runt(['exec', '--process', processFile, '--detach', '--console-socket', socket.path, id]);
  t.equal(p.code, 0, describe(p));
  t.equal(await readMaster((await again).fd), '40 100\r\n');
});

t.test('a terminal without a console socket: run -d, create and exec -d refuse with one line', async (t) => {
  const root = stateRoot(t);
  const b = terminalBundle(t, 'true');
  for (const cmd of ['run -d', 'create']) {
    const id = root.id('noterm');
    const r = root.runt([...cmd.split(' '), '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, `${id}.e`) });
    t.not(r.code, 0, cmd);
    t.equal(errorLines(r).length, 1, `${cmd}: one line: ${r.stderr}`);
    t.match(r.stderr, /console-socket/);
    t.notOk(root.entries().includes(id), `${cmd}: nothing left behind`);
  }
  const plain = makeBundle(t, ['sleep', '1000']);
  const id = root.id('noterm');
  t.equal(
    root.runt(['run', '-d', '--bundle', plain.dir, id], { stdoutFile: join(plain.dir, 'o'), stderrFile: join(plain.dir, 'e') }).code,
    0,
  );
  const e = root.runt(['exec', '-t', '-d', id, 'true']);
  t.not(e.code, 0);
  t.equal(errorLines(e).length, 1, `one line: ${e.stderr}`);
  t.match(e.stderr, /console-socket/);
});

t.test('foreground run with process.terminal: runt proxies the pty (size from its terminal, exit code, terminal restored)', async (t) => {
  const root = stateRoot(t);
  const b = terminalBundle(t, 'tty; stty size; exit 3');
  const id = root.id('fg');
  const run = runtCommand(root.path, ['run', '--bundle', b.dir, id]);
  const r = underScript(
    `stty rows 33 cols 77; before=$(stty -g); ${run}; code=$?; [ "$before" = "$(stty -g)" ] && echo RESTORED; exit $code`,
  );
  t.equal(r.code, 3, `the container's exit code: ${JSON.stringify(r.output)}`);
  t.match(r.output, /\/dev\/pts\/\d+\r\n/, 'the process ran on a pty');
  t.match(r.output, /33 77\r\n/, "runt gave the pty its own terminal's size");
  t.notMatch(r.output, /\r\r\n/, 'raw mode: no second carriage return from the outer terminal');
  t.match(r.output, /RESTORED/, "the outer terminal's settings are back");
});

t.test('foreground exec -t: input reaches the process, window size changes follow SIGWINCH', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('fg');
  t.equal(root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') }).code, 0);

  const echo = underScript(
    `stty rows 20 cols 60; printf 'typed-line\\n' | ${runtCommand(root.path, ['exec', '-t', id, 'sh', '-c', 'read x; echo got=$x; stty size'])}`,
  );
  t.equal(echo.code, 0, JSON.stringify(echo.output));
  t.match(echo.output, /got=typed-line\r+\n/, 'stdin reached the process through the pty');

  // runt runs in the background of a shell without job control, so it gets SIGWINCH by hand.
  const waitResize = 'i=0; while [ "$(stty size)" != "40 90" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo size=$(stty size)';
  const exec = runtCommand(root.path, ['exec', '-t', id, 'sh', '-c', waitResize]);
  const resize = underScript(`stty rows 20 cols 60; ${exec} & pid=$!; sleep 1; stty rows 40 cols 90; kill -WINCH $pid; wait $pid`);
  t.equal(resize.code, 0, JSON.stringify(resize.output));
  t.match(resize.output, /size=40 90/, 'the container saw the new size');
});
