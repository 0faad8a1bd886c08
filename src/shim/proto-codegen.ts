// Where proto.ts gets protobufjs and the shim's generated message code. This is the ES module build
// (the library's dist/src, the tests): protobufjs/light, and no generated code, so that every
// message goes through protobufjs's reflection. The shim's bundle takes proto-codegen.cjs.ts
// instead (tsconfig.cli.json's moduleSuffixes), as it takes module-dir.cjs.ts.
import type protobuf from 'protobufjs';
import light from 'protobufjs/light.js';

/** The message classes pbjs generated at build time (scripts/shim-proto-json.mjs), by package. */
export type GeneratedRoot = Record<string, unknown>;

export function generatedRoot(): GeneratedRoot | undefined {
  return undefined;
}

export function protobufLight(): typeof protobuf {
  return light as typeof protobuf;
}
