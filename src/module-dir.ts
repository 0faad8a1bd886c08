// The directory this build of runt's modules is loaded from: dist/src in the ESM build, src/ when
// run from source. The CommonJS build of the CLI and shim (tsconfig.cli.json, scripts/bundle.mjs) takes
// module-dir.cjs.ts in its place (tsconfig.cli.json's moduleSuffixes), since `import.meta` does not
// exist there. Only package-root.ts uses it.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODULE_DIR = dirname(fileURLToPath(import.meta.url));
