// Choosing one image of an index (or Docker manifest list) for a platform: os/arch[/variant],
// by default this machine's. Attestation entries (BuildKit's unknown/unknown) are never chosen.
import type { Descriptor, Platform } from './media-types.js';
import { imageError } from './errors.js';

const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function hostPlatform(): Platform {
  const arch = ARCH[process.arch] ?? process.arch;
  return { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : arch === 'arm' ? { variant: 'v7' } : {}) };
}

export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...rest] = s.split('/');
  if (!os || !architecture || rest.length) throw imageError.reference(s, 'a platform is OS/ARCH[/VARIANT], e.g. linux/amd64');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')
  );
}

export function selectManifest(manifests: Descriptor[], want: Platform, ref: string): Descriptor {
  const candidates = manifests.filter(
    (d) => !isAttestation(d) && d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture,
  );
  const variantOf = (d: Descriptor) => d.platform?.variant ?? (d.platform?.architecture === 'arm64' ? 'v8' : undefined);
  const exact = candidates.find((d) => !want.variant || variantOf(d) === want.variant);
  if (exact) return exact;
  const offered = manifests.filter((d) => !isAttestation(d) && d.platform).map((d) => formatPlatform(d.platform as Platform));
  throw imageError.notFound(ref, `for platform ${formatPlatform(want)} (the index offers ${offered.join(', ') || 'no platform'})`);
}
