// Image references normalised the way Docker does: `busybox` is docker.io/library/busybox:latest,
// `localhost:5000/a/b@sha256:…` keeps its registry and digest.
import { imageError } from './errors.js';

export interface Reference {
  /** Registry host as written (docker.io for Docker Hub), with its port. */
  domain: string;
  /** Repository path inside the registry (library/busybox). */
  path: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

export function parseReference(input: string): Reference {
  const ref = input.trim();
  if (!ref) throw imageError.reference(input, 'empty');
  if (ref.length > 4096) throw imageError.reference(input.slice(0, 40), 'too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw imageError.reference(input, `bad digest "${digest}"`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest))
      throw imageError.reference(input, 'a sha256 digest is 64 lowercase hex digits');
    if (!digest.startsWith('sha256:')) throw imageError.reference(input, `unsupported digest algorithm in "${digest}" (only sha256)`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw imageError.reference(input, `bad tag "${tag}"`);
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes('.') || head.includes(':') || head === 'localhost' || head.startsWith('[')) {
      domain = head;
      path = rest.slice(first + 1);
      if (!DOMAIN.test(domain)) throw imageError.reference(input, `bad registry host "${domain}"`);
    }
  }
  if (domain === 'index.docker.io' || domain === 'registry-1.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!path) throw imageError.reference(input, 'no repository name');
  if (path !== path.toLowerCase()) throw imageError.reference(input, 'repository name must be lowercase');
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) throw imageError.reference(input, `bad repository name component "${c}"`);
  }
  if (domain.length + path.length + 1 > 255) throw imageError.reference(input, 'repository name longer than 255 characters');
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** docker.io/library/busybox:latest, localhost:5000/x@sha256:… (tag and digest both when both given). */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The name without tag or digest: docker.io/library/busybox. */
export function repositoryName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The short form users type: busybox:latest, localhost:5000/x:1. */
export function familiarName(r: Reference): string {
  let name = repositoryName(r);
  if (r.domain === DOCKER_HUB) name = r.path.startsWith('library/') ? r.path.slice(8) : r.path;
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Where the registry API lives: Docker Hub's is registry-1.docker.io. */
export function registryHost(r: Reference): string {
  return r.domain === DOCKER_HUB ? 'registry-1.docker.io' : r.domain;
}

/** Plain HTTP is allowed only to this machine (or with --insecure). */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
