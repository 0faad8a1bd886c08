// Debian's docker-registry on a loopback port, with a config and storage of the test's own, stopped
// by pid at teardown; and a proxy in front of it that plays a registry with bearer or basic auth
// (its own token endpoint), or one that fails (500, hangs, redirects) — all in this process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function registryMissing(): string | false {
  if (!existsSync(REGISTRY_BIN)) return 'docker-registry is not installed (apt-get install docker-registry)';
  return false;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Registry {
  host: string;
  dir: string;
}

export async function startRegistry(t: Test): Promise<Registry> {
  const dir = mkdtempSync('/tmp/runt-test-registry-');
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dir}/data`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(`http://${host}/v2/`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return { host, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

export type ProxyMode =
  | { kind: 'bearer'; user?: string; password?: string }
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'fail'; status: number }
  | { kind: 'hang' }
  | { kind: 'corrupt-blob' }
  /** The first large blob download stops halfway (the connection is cut); later ones pass. */
  | { kind: 'cut-once' }
  /** Large blob downloads send half their bytes, then wait for release() before the rest. */
  | { kind: 'stall' }
  /** Blob GETs answer 307 to the upstream registry itself (storage on another host). */
  | { kind: 'redirect-blobs' };

export interface Proxy {
  host: string;
  /** Every request the proxy saw: method, path, authorization header. */
  log: Array<{ method: string; path: string; auth?: string; range?: string }>;
  tokenRequests: Array<{ scope: string[]; auth?: string }>;
  /** 'stall': resolves once a blob download has sent half its bytes and waits. */
  stalled: Promise<void>;
  /** 'stall': lets the held downloads finish (and the later ones pass). */
  release(): void;
}

/** A server in front of `upstream` that demands the auth of `mode` (or misbehaves); over HTTPS
 *  with `tls`'s key and certificate. */
export async function startProxy(t: Test, upstream: string, mode: ProxyMode, tls?: { key: Buffer; cert: Buffer }): Promise<Proxy> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let onStall = () => {};
  const stalled = new Promise<void>((r) => (onStall = r));
  let released = false;
  const waiting: Array<() => void> = [];
  const proxy: Proxy = {
    host,
    log: [],
    tokenRequests: [],
    stalled,
    release: () => {
      released = true;
      for (const go of waiting.splice(0)) go();
    },
  };
  const tokens = new Map<string, string[]>(); // token → scopes it grants
  let n = 0;
  let cut = false;
  const hanging: ServerResponse[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      const scope = url.searchParams.getAll('scope');
      proxy.tokenRequests.push({ scope, auth: req.headers.authorization });
      if (mode.kind === 'bearer' && mode.user) {
        const want = `Basic ${Buffer.from(`${mode.user}:${mode.password}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.statusCode = 401;
          res.end('{}');
          return;
        }
      }
      const token = `tok${++n}`;
      tokens.set(token, scope);
      res.setHeader('content-type', 'application/json');
      // Both spellings: clients must take either.
      res.end(JSON.stringify(n % 2 ? { token } : { access_token: token }));
      return;
    }
    proxy.log.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization, range: req.headers.range });
    if (mode.kind === 'fail') {
      res.statusCode = mode.status;
      res.end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}');
      return;
    }
    if (mode.kind === 'hang') {
      hanging.push(res);
      return;
    }
    if (mode.kind === 'redirect-blobs' && req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname)) {
      res.writeHead(307, { location: `http://${upstream}${req.url}`, 'content-length': '0' });
      res.end();
      return;
    }
    const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
    if (mode.kind === 'bearer' && url.pathname.startsWith('/v2/')) {
      const need = repo ? `repository:${repo}:${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'}` : '';
      const tok = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const granted = tokens.get(tok);
      const ok =
        granted &&
        (need === '' || granted.some((s) => s === need || (need.endsWith(':pull') && s === need.replace(/:pull$/, ':pull,push'))));
      if (!ok) {
        res.statusCode = 401;
        res.setHeader(
          'www-authenticate',
          `Bearer realm="${tls ? 'https' : 'http'}://${host}/token",service="test-registry"${need ? `,scope="${need}"` : ''}`,
        );
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
    }
    if (mode.kind === 'basic') {
      const want = `Basic ${Buffer.from(`${mode.user}:${mode.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Basic realm="test"');
        res.end();
        return;
      }
    }
    const up = request(
      `http://${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: upstream, authorization: '' } },
      (ur) => {
        const headers = { ...ur.headers };
        if (headers.location) headers.location = headers.location.replace(upstream, host);
        // A blob's GET of more than 100 KB: what the cut-once and stall modes interrupt.
        const bigBlobGet = /\/blobs\/sha256:/.test(url.pathname) && req.method === 'GET' && Number(ur.headers['content-length']) > 100_000;
        if (mode.kind === 'cut-once' && !cut && bigBlobGet) {
          cut = true;
          const half = Number(ur.headers['content-length']) >> 1;
          let sent = 0;
          res.writeHead(ur.statusCode ?? 500, headers);
          ur.on('data', (c: Buffer) => {
            if (sent >= half) return;
            const part = c.subarray(0, half - sent);
            sent += part.length;
            res.write(part);
            if (sent >= half)
              setTimeout(() => {
                res.socket?.destroy();
                ur.destroy();
              }, 50);
          });
          return;
        }
        if (mode.kind === 'stall' && !released && bigBlobGet) {
          const half = Number(ur.headers['content-length']) >> 1;
          let sent = 0;
          let held = false;
          res.writeHead(ur.statusCode ?? 500, headers);
          ur.on('data', (c: Buffer) => {
            if (held || sent + c.length < half) {
              sent += c.length;
              if (!res.write(c)) ur.pause();
              return;
            }
            held = true;
            sent += c.length;
            ur.pause();
            res.write(c.subarray(0, 1));
            const rest = c.subarray(1);
            onStall();
            waiting.push(() => {
              res.write(rest);
              ur.resume();
            });
          });
          res.on('drain', () => {
            if (!held || released) ur.resume();
          });
          ur.on('end', () => res.end());
          return;
        }
        if (mode.kind === 'corrupt-blob' && /\/blobs\/sha256:/.test(url.pathname) && req.method === 'GET') {
          // Same length, one byte changed: only the digest can tell.
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            const body = Buffer.concat(chunks);
            if (body.length > 1000) body[body.length >> 1] ^= 0xff;
            res.writeHead(ur.statusCode ?? 500, headers);
            res.end(body);
          });
          return;
        }
        res.writeHead(ur.statusCode ?? 500, headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(up);
  };
  const server: Server = tls ? (createHttpsServer(tls, handler) as unknown as Server) : createServer(handler);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return proxy;
}
