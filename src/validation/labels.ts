/**
 * Worker labels (docs/TENANCY.md, "Worker labels"): the labels a job requires and those a worker
 * offers. A worker claims a job only when it offers every label the job requires.
 *
 * A label list is stored in one canonical form, sorted and without repeats, so that two jobs with the
 * same requirements hold equal values: the claim finds the requirement sets among ready jobs by one
 * index probe per distinct set, then walks only the sets a worker meets.
 *
 * A label is 1 to 100 bytes of UTF-8 without whitespace, commas or control characters (the CLI takes
 * labels as a comma-separated list), e.g. `gpu` or `region:eu`. A job requires at most 16 labels (each
 * distinct set is one more probe in every labelled claim), a worker offers at most 64.
 */
import { NightshiftError } from '../errors.js';
import { textIn, type BoundContext } from './bounds.js';

/** The longest label, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 100;
/** Most labels a job (or a task's default) may require. */
export const MAX_JOB_LABELS = 16;
/** Most labels a worker may offer. */
export const MAX_WORKER_LABELS = 64;

// Whitespace, commas and C0/C1 control characters: a label must survive a comma-separated flag and
// read the same in a log line.
const FORBIDDEN = /[\s,\p{Cc}]/u;

/**
 * `value` as a canonical label list (sorted by UTF-16 code units, repeats dropped), or a refusal
 * naming `option`: not an array, more than `max` distinct labels, or a label that is not a non-empty
 * string of at most MAX_LABEL_BYTES without whitespace, commas or control characters. An empty list is
 * valid (no labels).
 */
export function checkLabels(option: string, value: unknown, max: number, at: BoundContext = {}): string[] {
  if (!Array.isArray(value)) {
    throw new NightshiftError(
      at.code ?? 'invalid_argument',
      `${at.prefix ?? ''}${option} must be an array of labels, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const labels = new Set<string>();
  for (const label of value as unknown[]) {
    const text = textIn(`${option} label`, label, MAX_LABEL_BYTES, at);
    if (FORBIDDEN.test(text)) {
      throw new NightshiftError(
        at.code ?? 'invalid_argument',
        `${at.prefix ?? ''}${option} label ${JSON.stringify(text)} must not contain whitespace, commas or control characters`,
      );
    }
    labels.add(text);
  }
  // Counted once repeats are dropped: the bound is on what is stored and probed, not on the list given.
  if (labels.size > max) {
    throw new NightshiftError(
      at.code ?? 'invalid_argument',
      `${at.prefix ?? ''}${option} must hold at most ${max} distinct labels, got ${labels.size}`,
    );
  }
  return [...labels].sort();
}

/** A job's requirements as stored: the canonical list, or null for none (an empty list). */
export function checkRequires(value: unknown, at: BoundContext = {}): string[] | null {
  const labels = checkLabels('requires', value, MAX_JOB_LABELS, at);
  return labels.length === 0 ? null : labels;
}
