// examples/daemon: the HTTP service that runs a container per request and streams its output
// (run from dist/, as its README says). Two requests at once, a failing one, a timeout, shutdown.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { REPO, onTeardown, removeAtTeardown, stateRoot } from './helpers/index.js';

const SERVER = join(REPO, 'dist/examples/daemon/server.js');

function post(socketPath: string, body: unknown): Promise<{ status: number; lines: Array<Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/run', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          lines: text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>),
        }),
      );
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

t.test(
  'the daemon example runs containers per request and streams their output',
  { skip: !existsSync(SERVER) && 'not built (npm run build)' },
  async (t) => {
    const root = stateRoot(t);
    const dir = mkdtempSync('/tmp/runt-daemon-test-');
    removeAtTeardown(t, dir);
    const socket = join(dir, 'd.sock');
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const server = spawn(process.execPath, [SERVER, '--socket', socket, '--root', root.path], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onTeardown(t, () => {
      if (server.exitCode === null) server.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });

    const [a, b] = await Promise.all([
      post(socket, { args: ['sh', '-c', 'echo one; echo two >&2; exit 3'] }),
      post(socket, { args: ['hostname'] }),
    ]);
    t.equal(a.status, 200);
    const out = (r: typeof a, stream: string) =>
      r.lines
        .filter((l) => l.stream === stream)
        .map((l) => l.data)
        .join('');
    t.equal(out(a, 'stdout'), 'one\n');
    t.equal(out(a, 'stderr'), 'two\n');
    t.same(a.lines[a.lines.length - 1], { exit: { code: 3, signal: null } });
    t.equal(out(b, 'stdout'), 'sandbox\n');

    const bad = await post(socket, { args: ['/nonexistent'] });
    t.equal(bad.status, 500);
    t.equal(bad.lines[0].code, 'ESTEP_FAILED');

    const slow = await post(socket, { args: ['sleep', '30'], timeoutMs: 200 });
    t.same(slow.lines[slow.lines.length - 1], { exit: { code: null, signal: 'SIGKILL' } });
    t.same(root.entries(), [], 'every container deleted after its request');

    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    t.equal(server.exitCode, 0, 'exits cleanly on SIGTERM');
    t.notOk(existsSync(socket), 'socket removed');
  },
);
