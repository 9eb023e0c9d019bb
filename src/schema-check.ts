/**
 * Running a Standard Schema validator and turning its issues into one readable line. Used by enqueue
 * (the producer's check) and by the worker (the check before a handler runs, and of its result).
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** The validator's output, or the issues as one line (`path: message; ...`). */
export type SchemaCheck = { ok: true; value: unknown } | { ok: false; issues: string };

/** Validates `value`; synchronous when the validator is. */
export function checkSchema(schema: StandardSchemaV1, value: unknown): SchemaCheck | Promise<SchemaCheck> {
  const outcome = schema['~standard'].validate(value);
  return outcome instanceof Promise ? outcome.then(toCheck) : toCheck(outcome);
}

function toCheck(outcome: StandardSchemaV1.Result<unknown>): SchemaCheck {
  if (!outcome.issues) return { ok: true, value: outcome.value };
  const issues = outcome.issues
    .map((issue) => {
      const path = issue.path
        ?.map((segment) => String(typeof segment === 'object' ? segment.key : segment))
        .join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return { ok: false, issues };
}
