// A small daemon on runt's library: an HTTP service (on a unix socket, or a loopback port) that runs
// one container per request and streams its output back while it runs, as JSON lines.
//
//   npm run build:ts
//   node dist/examples/daemon/server.js --socket /run/runt-daemon.sock
//   curl -sN --unix-socket /run/runt-daemon.sock -d '{"args":["sh","-c","echo hi; echo oops >&2; exit 3"]}' http://runt/run
//   {"stream":"stdout","data":"hi\n"}
//   {"stream":"stderr","data":"oops\n"}
//   {"exit":{"code":3,"signal":null}}
//
// Everything happens in this one process: no runt CLI, no child process per operation; the exit
// status comes from the init's pidfd on the event loop, the output through pipes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Runtime, RuntError, type Container } from '../../src/index.js';
import { requestSpec } from './spec.js';

const REPO = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

const { values: opts } = parseArgs({
  options: {
    socket: { type: 'string' },
    port: { type: 'string' },
    rootfs: { type: 'string', default: join(REPO, 'examples/busybox/rootfs') },
    root: { type: 'string', default: '/run/runt-daemon' },
    'memory-mb': { type: 'string', default: '64' },
    pids: { type: 'string', default: '64' },
  },
});

interface RunRequest {
  args: string[];
  env?: string[];
  /** Killed after this long (default 10 s). */
  timeoutMs?: number;
}

const rt = new Runtime({ root: opts.root });
const running = new Set<Container>();
const handlers = new Set<Promise<void>>();
const rootfs = resolve(opts.rootfs!);
let seq = 0;

function parseRequest(body: string): RunRequest {
  const r = JSON.parse(body) as RunRequest;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!strings(r.args) || r.args.length === 0) throw new Error('"args" must be a non-empty array of strings');
  if (r.env !== undefined && !strings(r.env)) throw new Error('"env" must be an array of "KEY=value" strings');
  if (r.timeoutMs !== undefined && !(Number.isInteger(r.timeoutMs) && r.timeoutMs > 0))
    throw new Error('"timeoutMs" must be a positive integer');
  return r;
}

function fail(res: ServerResponse, status: number, e: unknown): void {
  const code = e instanceof RuntError ? e.code : (e as { code?: string }).code;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify({ error: (e as Error).message, code })}\n`);
}

/** Kill, tolerating a container that is already gone or busy being deleted. */
function stop(c: Container): void {
  try {
    c.kill('SIGKILL');
  } catch {
    // stopped already
  }
}

async function run(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = '';
  for await (const chunk of req) body += chunk;
  let r: RunRequest;
  try {
    r = parseRequest(body);
  } catch (e) {
    fail(res, 400, e);
    return;
  }
  const id = `req-${process.pid}-${++seq}`;
  const spec = requestSpec(rootfs, r.args, r.env ?? [], { memory: Number(opts['memory-mb']) * 1024 * 1024, pids: Number(opts.pids) });
  let c: Container;
  try {
    c = await rt.create(id, spec, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    fail(res, e instanceof RuntError && e.code === 'EINVALID_SPEC' ? 400 : 500, e);
    return;
  }
  running.add(c);
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const send = (event: object) => res.write(`${JSON.stringify(event)}\n`);
  const outputs = (
    [
      ['stdout', c.stdout!],
      ['stderr', c.stderr!],
    ] as const
  ).map(([stream, s]) => {
    s.setEncoding('utf8').on('data', (data: string) => send({ stream, data }));
    return once(s, 'close');
  });
  const timer = setTimeout(() => stop(c), r.timeoutMs ?? 10_000);
  // The client went away: nobody reads the output any more.
  res.on('close', () => {
    if (!res.writableEnded) stop(c);
  });
  let last: object;
  try {
    await c.start();
    const status = await c.wait();
    await Promise.all(outputs);
    last = { exit: status };
  } catch (e) {
    last = { error: (e as Error).message };
  } finally {
    clearTimeout(timer);
    await c.delete({ force: true }).catch(() => {});
    running.delete(c);
  }
  // Answered once the container is gone, so a client never sees it linger.
  send(last);
  res.end();
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/run') {
    const h = run(req, res).catch((e) => {
      if (!res.headersSent) fail(res, 500, e);
      else res.end();
    });
    handlers.add(h);
    void h.finally(() => handlers.delete(h));
  } else if (req.method === 'GET' && req.url === '/containers') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(rt.list())}\n`);
  } else {
    fail(res, 404, new Error('POST /run {"args": [...]} or GET /containers'));
  }
});

async function shutdown(): Promise<void> {
  server.close();
  for (const c of running) stop(c);
  await Promise.allSettled([...handlers]);
  if (opts.socket) rmSync(opts.socket, { force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void shutdown();
  });

if (opts.socket) {
  rmSync(opts.socket, { force: true });
  server.listen(opts.socket, () => console.log(`runt daemon: listening on ${opts.socket}`));
} else {
  const port = Number(opts.port ?? 8077);
  server.listen(port, '127.0.0.1', () => console.log(`runt daemon: listening on 127.0.0.1:${port}`));
}
