// Registry credentials: --creds USER:PASS, or the `auths` of a Docker-style auth file
// (--authfile, else $REGISTRY_AUTH_FILE, else ~/.docker/config.json).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { imageError } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialOptions {
  /** "user:password" */
  creds?: string;
  authfile?: string;
}

export function parseCreds(creds: string): Credentials {
  const colon = creds.indexOf(':');
  if (colon <= 0) throw imageError.auth('--creds', 'give USER:PASSWORD');
  return { username: creds.slice(0, colon), password: creds.slice(colon + 1) };
}

/** The credentials for a registry host (as written in the reference, docker.io for Docker Hub). */
export function credentialsFor(domain: string, opts: CredentialOptions = {}): Credentials | undefined {
  if (opts.creds) return parseCreds(opts.creds);
  const file =
    opts.authfile ?? process.env.REGISTRY_AUTH_FILE ?? join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (opts.authfile)
      throw imageError.auth(opts.authfile, `cannot read the auth file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = (JSON.parse(text) as { auths?: typeof auths }).auths ?? {};
  } catch {
    throw imageError.auth(file, 'the auth file is not valid JSON');
  }
  const keys = domain === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'] : [domain];
  for (const [key, entry] of Object.entries(auths)) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (!keys.includes(key) && !keys.includes(host)) continue;
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/** WWW-Authenticate: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p;
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}
