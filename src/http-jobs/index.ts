/**
 * HTTP jobs: the built-in `http.request` task, present in an instance when `httpJobs` is configured
 * (`Nightshift.connect({ httpJobs })`, or the config key of the same name). docs/HTTP-JOBS.md.
 * Loaded only then: the payload schema's library costs a few hundred ms of CPU to import.
 */
import { NightshiftError } from '../errors.js';
import type { TaskMap } from '../task.js';
import type { TaskMapSignatures } from '../task-types.js';
import { httpRequestTask } from './http-request.js';
import { HTTP_REQUEST_TASK } from './task-name.js';
import type { HttpJobsOptions } from './options.js';

export { DestinationRefusedError, HttpRequestError, HttpStatusError } from './errors.js';
export type { HttpRequestResult } from './http-request.js';
export { HTTP_REQUEST_TASK } from './task-name.js';
export type { HttpJobsOptions, ResolveHost } from './options.js';
export type { HttpRequestPayload } from './payload.js';
export type { SecretRef } from './secrets.js';

/**
 * What the compiler knows of the tasks `httpJobs` adds: `http.request`, its payload and result types
 * read from the task's own definition, as those of a `defineTask` task in `tasks` are.
 */
export type HttpJobsTasks = TaskMapSignatures<{
  [HTTP_REQUEST_TASK]: ReturnType<typeof httpRequestTask>;
}>;

/** `tasks` plus `http.request` when `httpJobs` is given; a user task of that name is a `config_error`. */
export function withHttpJobs(tasks: TaskMap, httpJobs: HttpJobsOptions | undefined): TaskMap {
  if (httpJobs === undefined) return tasks;
  if (Object.hasOwn(tasks, HTTP_REQUEST_TASK)) {
    throw new NightshiftError(
      'config_error',
      `task "${HTTP_REQUEST_TASK}" is built in when httpJobs is configured; name your own task differently`,
    );
  }
  return { ...tasks, [HTTP_REQUEST_TASK]: httpRequestTask(httpJobs) };
}
