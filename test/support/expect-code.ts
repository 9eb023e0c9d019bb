/** Asserts that a promise rejects with a `NightshiftError` of the given code (and message). */
import { expect } from 'vitest';
import { NightshiftError } from '../../src/errors.js';

export async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NightshiftError);
  expect((error as NightshiftError).code).toBe(code);
  if (message) expect((error as NightshiftError).message).toMatch(message);
}
