// What one layer may unpack to, in its own module: a run of a cached image needs the defaults but
// not the unpacker (src/image/unpack.ts and the decompressors load only when a layer is unpacked).
export interface UnpackLimits {
  /** Most bytes of file content one layer may unpack to (a tar bomb stops here). */
  maxBytes: number;
  /** Most entries in one layer. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: UnpackLimits = { maxBytes: 64 * 2 ** 30, maxEntries: 2_000_000 };
