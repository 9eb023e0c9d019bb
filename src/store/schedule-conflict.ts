/** The refusal both stores give an upsert that names config schedules. */
import { NightshiftError } from '../errors.js';

/** Config schedules belong to the config module, which rewrites them at every sync: change them there. */
export function configConflict(ids: string[]): NightshiftError {
  const names = ids.map((id) => JSON.stringify(id)).join(', ');
  return new NightshiftError(
    'conflict',
    ids.length === 1
      ? `schedule ${names} is declared in the config; change it there`
      : `schedules ${names} are declared in the config; change them there`,
  );
}
