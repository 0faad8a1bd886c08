// proto-codegen.ts for the shim's bundle (tsconfig.cli.json picks this file through moduleSuffixes;
// the ES module build compiles it but never imports it): the message classes pbjs generated at build
// time (scripts/shim-proto-json.mjs → dist/cjs/src/shim/proto-generated.js, bundled by
// scripts/bundle.mjs), whose encoders and decoders are plain functions in the bundle, compiled once
// into V8's code cache, where protobufjs's reflection builds them with `new Function` in every
// process (a fifth of the shim's CPU under load); and protobufjs/light, loaded only when a message
// needs reflection (the metrics' field lists).
/* eslint-disable @typescript-eslint/no-require-imports -- required lazily and by literal name, for scripts/bundle.mjs */
import type protobuf from 'protobufjs';

export type GeneratedRoot = Record<string, unknown>;

export function generatedRoot(): GeneratedRoot | undefined {
  return require('./proto-generated.js') as GeneratedRoot;
}

export function protobufLight(): typeof protobuf {
  return require('protobufjs/light.js') as typeof protobuf;
}
