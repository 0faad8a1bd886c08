// The protobuf messages of the shim's wire contract, from the .proto files vendored in proto/
// (containerd's, see proto/README.md). The build parses them once into a JSON descriptor
// (scripts/shim-proto-json.mjs → dist/shim-proto.json) that protobufjs/light loads without a
// parser, and has pbjs generate static code from it for the shim's bundle (proto-codegen.cjs.ts);
// run from source (no build), the .proto files are parsed here with the full protobufjs. encode and
// decode use the generated classes where the bundle has them, else protobufjs's reflection: the
// same conversions either way.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import type protobuf from 'protobufjs';
import { generatedRoot, protobufLight } from './proto-codegen.js';
import { packageRoot } from '../package-root.js';

/** Imports that only carry Go code-generation options (gogoproto, containerd's fieldpath plugin):
 *  their options mean nothing on the wire, so they are not loaded. */
const OPTION_ONLY_IMPORTS = new Set(['gogoproto/gogo.proto', 'github.com/containerd/containerd/protobuf/plugin/fieldpath.proto']);

const FILES = [
  'github.com/containerd/ttrpc/request.proto',
  'github.com/containerd/containerd/runtime/v2/task/shim.proto',
  'github.com/containerd/containerd/api/events/task.proto',
  'github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto',
  'github.com/containerd/cgroups/stats/v1/metrics.proto',
  'github.com/containerd/cgroups/v2/stats/metrics.proto',
  'runt/shim/v1/front.proto',
];

let root: protobuf.Root | undefined;

export function protoDir(): string {
  return join(packageRoot(), 'src/shim/proto');
}

/** The vendored .proto files parsed with the full protobufjs (the build does this once). */
export function parseProtos(): protobuf.Root {
  const full = createRequire(join(packageRoot(), 'package.json'))('protobufjs') as typeof protobuf;
  const dir = protoDir();
  const r = new full.Root();
  r.resolvePath = (_origin, target) => {
    if (OPTION_ONLY_IMPORTS.has(target)) return null as unknown as string;
    if (target.startsWith('google/protobuf/')) return target; // protobufjs has the well-known types
    return isAbsolute(target) ? target : join(dir, target);
  };
  r.loadSync(
    FILES.map((f) => join(dir, f)),
    { keepCase: true },
  );
  r.resolveAll();
  return r;
}

export function protoRoot(): protobuf.Root {
  if (!root) {
    const json = join(packageRoot(), 'dist/shim-proto.json');
    if (existsSync(json)) {
      root = protobufLight().Root.fromJSON(JSON.parse(readFileSync(json, 'utf8')) as protobuf.INamespace);
    } else {
      root = parseProtos();
    }
  }
  return root;
}

const types = new Map<string, protobuf.Type>();

export function messageType(name: string): protobuf.Type {
  let t = types.get(name);
  if (!t) {
    t = protoRoot().lookupType(name);
    types.set(name, t);
  }
  return t;
}

/** What encode and decode need of a message: a protobufjs Type, or a class pbjs generated. */
interface Codec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(data: Uint8Array): unknown;
  fromObject(value: Record<string, unknown>): unknown;
  toObject(message: unknown, options: protobuf.IConversionOptions): Record<string, unknown>;
}

const codecs = new Map<string, Codec>();

function codec(name: string): Codec {
  let c = codecs.get(name);
  if (!c) {
    let generated: unknown = generatedRoot();
    for (const part of name.split('.')) generated = (generated as Record<string, unknown> | undefined)?.[part];
    c = typeof generated === 'function' ? (generated as unknown as Codec) : (messageType(name) as unknown as Codec);
    codecs.set(name, c);
  }
  return c;
}

/** Encode a plain object as message `name` (fields in the .proto's snake_case). */
export function encode(name: string, value: Record<string, unknown>): Buffer {
  const c = codec(name);
  return Buffer.from(c.encode(c.fromObject(value)).finish());
}

/** Decode message `name` to a plain object: 64-bit integers as numbers, enums as numbers, bytes as
 *  Uint8Arrays, unset scalars with their defaults. Throws on bytes that are not that message. */
export function decode<T = Record<string, unknown>>(name: string, data: Uint8Array): T {
  const c = codec(name);
  // A plain Uint8Array, not a Buffer: protobufjs's Buffer reader cuts a string that runs past the
  // end short instead of refusing it.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return c.toObject(c.decode(bytes), { longs: Number, enums: Number, defaults: true, arrays: true, objects: true }) as T;
}

/** A google.protobuf.Any. */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export function toAny(name: string, value: Record<string, unknown>): AnyMessage {
  return { type_url: name, value: encode(name, value) };
}

/** A google.protobuf.Timestamp for a time in ms. */
export function timestamp(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
