// module-dir.ts for the CommonJS build of the CLI and the shim (tsconfig.cli.json picks this file
// through moduleSuffixes): in a single-file bundle (dist/runt-cli.cjs, dist/runt-shim.cjs) __dirname
// is the bundle's directory.
// The ESM build compiles this file too but never imports it.
export const MODULE_DIR = __dirname;
