/**
 * Unknown keys in option objects: a misspelt key must be refused, not dropped without a word; and an
 * argument that is not the object or array a call reads, refused before a TypeError could surface.
 * The option interfaces guide TypeScript callers; these checks hold for JavaScript callers and casts.
 */
import { NightshiftError } from '../errors.js';
import type { BoundContext } from './bounds.js';

/**
 * The key names of options type `T`, from a literal listing each of them: a key `T` gains and the
 * list lacks (or one the list has and `T` lacks) fails to compile, so the check never lags the type.
 */
export function keyNames<T extends object>(names: { [K in keyof Required<T>]: true }): ReadonlySet<string> {
  return new Set(Object.keys(names));
}

/** The first own key of `value` that is not among `known`; undefined when every key is known. */
export function unknownKey(value: object, known: ReadonlySet<string>): string | undefined {
  return Object.keys(value).find((key) => !known.has(key));
}

/**
 * Refuses `value` unless it is an object (not null, not an array), before a call reads its fields,
 * where a property read of null would fail as a TypeError: `<what> must be an object, got ...`.
 */
export function requireObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return;
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new NightshiftError('invalid_argument', `${what} must be an object, got ${got}`);
}

/** Refuses `value` unless it is an array, before a call iterates it: `<what> must be an array, got ...`. */
export function requireArray(value: unknown, what: string): asserts value is readonly unknown[] {
  if (Array.isArray(value)) return;
  throw new NightshiftError(
    'invalid_argument',
    `${what} must be an array, got ${value === null ? 'null' : typeof value}`,
  );
}

/**
 * Refuses `value` unless it is an object whose every own key is among `known` (a key given as
 * undefined counts by its name): `unknown <what> "<key>"; the options are ...`, `invalid_argument`
 * unless `at` says otherwise. Call it before anything opens or changes.
 */
export function refuseUnknownKeys(
  value: unknown,
  known: ReadonlySet<string>,
  what: string,
  at: BoundContext = {},
): void {
  const prefix = at.prefix ?? '';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NightshiftError(
      at.code ?? 'invalid_argument',
      `${prefix}${what}s must be an object of ${[...known].join(', ')}`,
    );
  }
  const unknown = unknownKey(value, known);
  if (unknown === undefined) return;
  throw new NightshiftError(
    at.code ?? 'invalid_argument',
    `${prefix}unknown ${what} ${JSON.stringify(unknown)}; the options are ${[...known].join(', ')}`,
  );
}
