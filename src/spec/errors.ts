// The one error type of the spec layer. Its message is a single line, `<json path>: <what is
// wrong>`, so the CLI can print it as is and engines can read it back from the JSON log.
import { RuntError } from '../errors.js';

export class SpecError extends RuntError {
  /** `path` is the JSON path of the offending field (e.g. `mounts[1].destination`), or the file
   *  path when the problem is the file itself. */
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('EINVALID_SPEC', `${path}: ${detail}`.replace(/\s*\n\s*/g, ' '));
  }
}

/** Something the spec says to log rather than refuse (e.g. a capability this runtime does not
 *  know). `message` has the same one-line form as SpecError's. */
export interface SpecWarning {
  path: string;
  message: string;
}
