// A client of one repository of a registry (the OCI distribution API): manifests and blobs, with
// anonymous, bearer-token and basic auth. Credentials go only to the registry host itself and to
// the token realm it names, never to a redirect target.
import type { IncomingMessage } from 'node:http';
import { closeAgents, httpSend, readBody, HttpTimeout } from './http.js';
import { parseChallenge, type Credentials } from './credentials.js';
import { imageError } from './errors.js';
import { isLoopbackHost, registryHost, formatReference, type Reference } from './reference.js';

export interface RegistryOptions {
  /** Plain HTTP (and HTTPS without verification is never done) for hosts that are not loopback. */
  insecure?: boolean;
  credentials?: Credentials;
  /** No byte from the registry for this long: the pull fails (default 30 s). */
  timeoutMs?: number;
}

const MAX_MANIFEST = 4 << 20;

export class RegistryClient {
  private baseUrl?: string;
  private baseFound?: Promise<string>;
  private tokens = new Map<string, string>();
  private basic = false;
  readonly host: string;
  readonly name: string;

  constructor(
    readonly ref: Reference,
    private readonly opts: RegistryOptions = {},
  ) {
    this.host = registryHost(ref);
    this.name = ref.path;
  }

  /** No byte from the registry for this long: the request fails (ms). */
  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 30_000;
  }

  private describe(): string {
    return formatReference(this.ref);
  }

  /**
   * https://host, or http://host for loopback (or --insecure) registries that do not speak TLS.
   * Plain HTTP is asked first: a loopback registry speaking it answers within a few ms, and the TLS
   * stack (~5 ms of CPU to set up) is then never loaded. HTTPS is asked (GET /v2/, unverified: the
   * answer only picks the scheme) as soon as that fails, or after 50 ms without an answer (a TLS
   * server may wait for a handshake). A 400 over plain HTTP is what a TLS port (Go's, nginx) answers.
   * `first`, a GET without a body or credentials, is itself the plain-HTTP question when given: its
   * answer comes back in `res` when plain HTTP is the scheme, one round trip saved (else /v2/ is).
   */
  private async base(first?: { path: string; headers: Record<string, string> }): Promise<{ base: string; res?: IncomingMessage }> {
    if (this.baseUrl) return { base: this.baseUrl };
    if (this.baseFound) return { base: await this.baseFound };
    const https = `https://${this.host}`;
    if (!isLoopbackHost(this.host) && !this.opts.insecure) return { base: (this.baseUrl = https) };
    const http = `http://${this.host}`;
    const timeoutMs = Math.min(this.timeoutMs, 10_000);
    let firstRes: IncomingMessage | undefined;
    const probe = (base: string) =>
      httpSend(new URL('/v2/', base), { timeoutMs, tlsProbe: true }).then((res) => {
        res.resume();
        if (base === http && res.statusCode === 400) throw new Error('plain HTTP answered 400 (a TLS port)');
        return base;
      });
    const plainFirst = async (): Promise<string> => {
      if (!first) return probe(http);
      const res = await httpSend(new URL(first.path, http), { headers: first.headers, timeoutMs });
      // A 400 may also be the registry's own answer to this request: /v2/ tells.
      if (res.statusCode === 400) {
        res.resume();
        return probe(http);
      }
      if (this.baseUrl && this.baseUrl !== http) res.resume();
      else firstRes = res;
      return http;
    };
    const plain = plainFirst();
    const tls = new Promise<string>((resolve, reject) => {
      const start = () => {
        clearTimeout(timer);
        probe(https).then(resolve, reject);
      };
      const timer = setTimeout(start, 50);
      plain.then(() => clearTimeout(timer), start);
    });
    this.baseFound = Promise.any([tls, plain]).then(
      (base) => (this.baseUrl = base),
      (e: unknown) => {
        const errors = (e as AggregateError).errors ?? [e];
        const timeout = errors.find((x: unknown) => x instanceof HttpTimeout) as Error | undefined;
        if (timeout) throw imageError.registry(this.describe(), `registry ${this.host} did not answer (${timeout.message})`);
        const last = errors[errors.length - 1] as NodeJS.ErrnoException;
        throw imageError.registry(
          this.describe(),
          `cannot connect to registry ${this.host}: ${last.code === 'ECONNREFUSED' ? 'connection refused' : last.message}`,
        );
      },
    );
    const base = await this.baseFound;
    if (base !== http && firstRes) {
      firstRes.resume();
      firstRes = undefined;
    }
    return { base, res: firstRes };
  }

  /** A request to the registry; auth challenges answered, redirects followed without credentials. */
  async request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: Buffer | (() => NodeJS.ReadableStream),
    scope = `repository:${this.name}:pull`,
  ): Promise<IncomingMessage> {
    // The first request, when it is a plain GET without credentials, doubles as the scheme probe.
    const asProbe = method === 'GET' && !body && !this.authHeader(scope) && !/^https?:/.test(path);
    const found = await this.base(asProbe ? { path, headers } : undefined);
    const base = found.base;
    let answered = found.res;
    let url = new URL(path, base);
    // An absolute URL the registry gave (an upload location) on another host gets no credentials.
    const sameHost = url.host === new URL(base).host;
    for (let attempt = 0; attempt < 3; attempt++) {
      const auth = sameHost ? this.authHeader(scope) : undefined;
      let res: IncomingMessage;
      try {
        res =
          answered ??
          (await httpSend(url, {
            method,
            headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
            body: typeof body === 'function' ? body() : body,
            timeoutMs: this.timeoutMs,
          }));
        answered = undefined;
      } catch (e) {
        throw this.networkError(e);
      }
      if (res.statusCode === 401 && sameHost) {
        const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
        res.resume();
        if (!challenge) throw imageError.auth(this.describe(), `registry ${this.host} refused access (401) without a challenge`);
        if (challenge.scheme === 'basic') {
          if (!this.opts.credentials || this.basic)
            throw imageError.auth(this.describe(), `registry ${this.host} wants a user name and password (give --creds or --authfile)`);
          this.basic = true;
          continue;
        }
        if (challenge.scheme === 'bearer') {
          if (this.tokens.has(scope) && attempt > 0)
            throw imageError.auth(this.describe(), `registry ${this.host} refused the token for ${scope}`);
          await this.fetchToken(challenge.params, challenge.params.scope ?? scope, scope);
          continue;
        }
        throw imageError.auth(this.describe(), `unsupported auth scheme "${challenge.scheme}"`);
      }
      if ([301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && res.headers.location) {
        res.resume();
        // Blob downloads are often redirected to storage elsewhere: no credentials go there.
        for (let hop = 0; hop < 5; hop++) {
          url = new URL(res.headers.location as string, url);
          try {
            res = await httpSend(url, { method, headers, body: typeof body === 'function' ? body() : body, timeoutMs: this.timeoutMs });
          } catch (e) {
            throw this.networkError(e);
          }
          if (![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !res.headers.location) return res;
          res.resume();
        }
        throw imageError.registry(this.describe(), 'too many redirects');
      }
      return res;
    }
    throw imageError.auth(this.describe(), `registry ${this.host} refused the credentials`);
  }

  private networkError(e: unknown): Error {
    if (e instanceof HttpTimeout) return imageError.registry(this.describe(), `registry ${this.host} timed out: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    return imageError.registry(this.describe(), `registry ${this.host}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ').trim());
  }

  private authHeader(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return `Bearer ${token}`;
    if (this.basic && this.opts.credentials) {
      return `Basic ${Buffer.from(`${this.opts.credentials.username}:${this.opts.credentials.password}`).toString('base64')}`;
    }
    return undefined;
  }

  /** The token endpoint of a Bearer challenge; credentials go there only when it is on the registry's host or HTTPS. */
  private async fetchToken(params: Record<string, string>, challengeScope: string, scope: string): Promise<void> {
    if (!params.realm) throw imageError.auth(this.describe(), 'bearer challenge without a realm');
    const realm = new URL(params.realm);
    if (realm.protocol !== 'https:' && !isLoopbackHost(realm.host) && !this.opts.insecure) {
      throw imageError.auth(this.describe(), `token realm ${realm.origin} is not HTTPS`);
    }
    if (params.service) realm.searchParams.set('service', params.service);
    for (const s of new Set([challengeScope, scope])) realm.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    const c = this.opts.credentials;
    if (c) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    let res: IncomingMessage;
    try {
      res = await httpSend(realm, { headers, timeoutMs: this.timeoutMs });
    } catch (e) {
      throw this.networkError(e);
    }
    const body = await readBody(res, 1 << 20);
    if (res.statusCode !== 200)
      throw imageError.auth(
        this.describe(),
        `token server ${realm.host} answered ${res.statusCode}${c ? ' (wrong user name or password?)' : ''}`,
      );
    let token: string | undefined;
    try {
      const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
      token = j.token ?? j.access_token;
    } catch {
      // handled below
    }
    if (!token) throw imageError.auth(this.describe(), `token server ${realm.host} gave no token`);
    this.tokens.set(scope, token);
  }

  /** The manifest (or index) body and its media type; 404 is EIMAGE_NOT_FOUND. */
  async getManifest(reference: string, accept: string): Promise<{ body: Buffer; mediaType: string; digestHeader?: string }> {
    const res = await this.request('GET', `/v2/${this.name}/manifests/${reference}`, { accept });
    if (res.statusCode === 404) {
      res.resume();
      throw imageError.notFound(this.describe(), `in registry ${this.host}`);
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw imageError.registry(this.describe(), `registry ${this.host} answered ${res.statusCode} for manifest ${reference}`);
    }
    let body: Buffer;
    try {
      body = await readBody(res, MAX_MANIFEST);
    } catch (e) {
      throw this.networkError(e);
    }
    const mediaType = String(res.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    const digestHeader = res.headers['docker-content-digest'] as string | undefined;
    return { body, mediaType, digestHeader };
  }

  /** Where a blob GET goes and with which headers when the registry speaks plain HTTP (loopback or
   *  --insecure), for the native download (fast-blob.ts); undefined over HTTPS. The answer is
   *  used only when it is the blob itself: a challenge or a redirect goes through request(). */
  async plainBlobRequest(digest: string, offset: number): Promise<{ url: URL; headers: Record<string, string> } | undefined> {
    const { base } = await this.base();
    if (!base.startsWith('http:')) return undefined;
    const auth = this.authHeader(`repository:${this.name}:pull`);
    return {
      url: new URL(`/v2/${this.name}/blobs/${digest}`, base),
      headers: { ...(offset > 0 ? { range: `bytes=${offset}-` } : {}), ...(auth ? { authorization: auth } : {}) },
    };
  }

  /** A failure to reach or hear from the registry, as request() words it. */
  unreachable(e: unknown): Error {
    return this.networkError(e);
  }

  /** A blob's bytes from `offset` on (Range); `partial` says whether the registry honoured it. */
  async getBlob(digest: string, offset = 0): Promise<{ res: IncomingMessage; partial: boolean }> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await this.request('GET', `/v2/${this.name}/blobs/${digest}`, headers);
    if (res.statusCode === 404) {
      res.resume();
      throw imageError.registry(this.describe(), `blob ${digest} not found in registry ${this.host}`);
    }
    if (res.statusCode === 416 && offset > 0) {
      res.resume();
      return this.getBlob(digest, 0);
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      res.resume();
      throw imageError.registry(this.describe(), `registry ${this.host} answered ${res.statusCode} for blob ${digest}`);
    }
    return { res, partial: res.statusCode === 206 };
  }

  close(): void {
    closeAgents();
  }
}
