// Build step: the shim's vendored .proto files (src/shim/proto) parsed once (by the shim's own
// loader, dist/src/shim/proto.js) into protobufjs's JSON descriptor, dist/shim-proto.json, which
// the shim loads with protobufjs/light: no .proto parsing at each start of containerd-shim-runt-v2.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { parseProtos } = await import(join(repo, 'dist/src/shim/proto.js'));
const out = join(repo, 'dist/shim-proto.json');
writeFileSync(out, JSON.stringify(parseProtos().toJSON({ keepComments: false })));
console.log(`shim-proto: ${out}`);
