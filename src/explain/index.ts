// `runt explain` as a library: the plan document, its text form and its JSON form.
import type { ExplainDocument } from './document.js';

export {
  explainBundle,
  EXPLAIN_FORMAT,
  type ExplainDocument,
  type ExplainedStep,
  type ExplainedNamespace,
  type ExplainOptions,
  type ProcessName,
  type RuntimeAction,
  type RuntimeWhen,
  type CgroupWrite,
} from './document.js';
export { renderText } from './text.js';
export { describeStep, type StepDescription } from './steps.js';
export { summarizeSeccomp, type SeccompSummary } from './seccomp.js';

/** The documented JSON form (docs/EXPLAIN.md): keys in a fixed order, two-space indent. */
export function renderJson(doc: ExplainDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
