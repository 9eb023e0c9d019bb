/**
 * The end of an id prefix's range in SQLite's BINARY order. UTF-8 bytes sort as code points, so every
 * string starting with a prefix lies in [prefix, end), where end is the prefix with its last code
 * point raised by one: a list filtered by prefix reads only that range of the primary key.
 */

const MAX_CODE_POINT = 0x10ffff;
// Code points U+D800..U+DFFF are surrogates, never text of their own: the next after U+D7FF is U+E000.
const BEFORE_SURROGATES = 0xd7ff;
const AFTER_SURROGATES = 0xe000;

/** The least string above every string starting with `prefix`, or null when there is none (U+10FFFF only). */
export function prefixRangeEnd(prefix: string): string | null {
  const points = [...prefix].map((char) => char.codePointAt(0) ?? 0);
  // A trailing U+10FFFF cannot be raised: the range ends where the text before it would be raised.
  while (points.at(-1) === MAX_CODE_POINT) points.pop();
  const last = points.pop();
  if (last === undefined) return null;
  const next = last === BEFORE_SURROGATES ? AFTER_SURROGATES : last + 1;
  return String.fromCodePoint(...points, next);
}
