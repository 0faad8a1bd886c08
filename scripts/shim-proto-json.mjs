// Build step: the shim's vendored .proto files (src/shim/proto) parsed once (by the shim's own
// loader, dist/src/shim/proto.js) into protobufjs's JSON descriptor, dist/shim-proto.json, which
// the shim loads with protobufjs/light: no .proto parsing at each start of containerd-shim-runt-v2.
// From that descriptor pbjs (protobufjs-cli, a build-time dependency) generates static code for
// every message, dist/cjs/src/shim/proto-generated.js, which scripts/bundle.mjs puts into the
// shim's bundle (src/shim/proto-codegen.cjs.ts): its encoders and decoders are then ordinary
// functions in V8's code cache instead of code protobufjs generates at run time in every process.
// Run it after `tsc -p tsconfig.json` and before scripts/bundle.mjs.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { parseProtos } = await import(join(repo, 'dist/src/shim/proto.js'));
const out = join(repo, 'dist/shim-proto.json');
writeFileSync(out, JSON.stringify(parseProtos().toJSON({ keepComments: false })));
console.log(`shim-proto: ${out}`);

const generated = join(repo, 'dist/cjs/src/shim/proto-generated.js');
mkdirSync(dirname(generated), { recursive: true });
const tmp = `${generated}.${process.pid}.tmp`;
const { pbjs } = createRequire(import.meta.url)('protobufjs-cli');
// encode, decode, fromObject and toObject of every message, with the .proto's field names
// (keep-case, as the descriptor); no verify, delimited, service or type-URL code, no comments.
const args = ['-t', 'static-module', '-w', 'commonjs', '--keep-case'];
args.push('--no-verify', '--no-delimited', '--no-service', '--no-typeurl', '--no-comments', '--no-beautify', '-o', tmp, out);
await new Promise((resolve, reject) => pbjs.main(args, (err) => (err ? reject(err) : resolve())));
renameSync(tmp, generated);
console.log(`shim-proto: ${generated}`);
