// One HTTP(S) request at a time over node:http/https, with the system CA store, an idle timeout
// and no automatic redirects (the registry client decides where credentials go).
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, Agent as HttpAgent } from 'node:http';
// node:https (and TLS with it) loads at the first HTTPS request: a pull from a plain-HTTP loopback
// registry never needs it.
import type { Agent as HttpsAgent } from 'node:https';

const SYSTEM_CA = '/etc/ssl/certs/ca-certificates.crt';
let ca: string[] | undefined;

/** The system's CA bundle (and NODE_EXTRA_CA_CERTS), as curl and skopeo trust them. */
function systemCa(): string[] | undefined {
  if (ca) return ca;
  const out: string[] = [];
  for (const f of [SYSTEM_CA, process.env.NODE_EXTRA_CA_CERTS]) {
    if (!f) continue;
    try {
      out.push(readFileSync(f, 'utf8'));
    } catch {
      // missing: Node's own bundle then
    }
  }
  ca = out.length ? out : undefined;
  return ca;
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
let httpsAgent: HttpsAgent | undefined;
let probeAgent: HttpsAgent | undefined;

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | NodeJS.ReadableStream;
  /** No byte for this long: the request fails (ms). */
  timeoutMs: number;
  /** Only to learn whether a port speaks TLS: the certificate is not checked and no CA store is
   *  loaded (parsing the system's bundle costs ~40 ms of CPU, a tenth of a loopback pull). The
   *  answer picks the scheme, nothing else: every real request goes through the verifying agent. */
  tlsProbe?: boolean;
}

export class HttpTimeout extends Error {}

export async function httpSend(url: URL, opts: HttpOptions): Promise<IncomingMessage> {
  const isHttps = url.protocol === 'https:';
  const https = isHttps ? await import('node:https') : undefined;
  return new Promise((resolve, reject) => {
    let agent: HttpAgent | HttpsAgent = httpAgent;
    if (https && opts.tlsProbe) agent = probeAgent ??= new https.Agent({ keepAlive: false, rejectUnauthorized: false, ca: [] });
    // The agent's verifying TLS context is made once, with it: an https.Agent given `ca` makes a new
    // context for every connection, parsing the whole bundle each time (~30 ms of CPU here, several
    // connections a pull).
    else if (https)
      agent = httpsAgent ??= new https.Agent({
        keepAlive: true,
        maxSockets: 8,
        secureContext: (process.getBuiltinModule('node:tls') as typeof import('node:tls')).createSecureContext({ ca: systemCa() }),
      });
    const req = (https ? https.request : httpRequest)(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'runt', ...opts.headers },
        agent,
      },
      (res) => {
        res.setTimeout(opts.timeoutMs, () => res.destroy(new HttpTimeout(`no data for ${opts.timeoutMs / 1000} s`)));
        resolve(res);
      },
    );
    req.setTimeout(opts.timeoutMs, () => req.destroy(new HttpTimeout(`no answer within ${opts.timeoutMs / 1000} s`)));
    req.on('error', reject);
    const body = opts.body;
    if (!body) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else (body as NodeJS.ReadableStream).pipe(req);
  });
}

export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function closeAgents(): void {
  httpAgent.destroy();
  httpsAgent?.destroy();
  probeAgent?.destroy();
}
