/**
 * Where each task's handler runs, decided once: the task's own `isolation`, else the worker's. A task
 * run in a thread must name the module it is exported from; that is checked when the task is declared
 * (its own `isolation: 'thread'`) or when a worker with `isolation: 'thread'` starts, never at the
 * first job.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { NightshiftError, type ErrorCode } from '../../errors.js';
import type { Isolation, TaskDefinition } from '../../task.js';

/** An isolation setting with its shape checked. */
export interface ResolvedIsolation {
  mode: 'none' | 'thread';
  resourceLimits: ResourceLimits | null;
}

/** What a task says about isolation. */
export interface TaskIsolation {
  /** The task's own setting; null follows the worker's. */
  own: ResolvedIsolation | null;
  /** Where a thread loads the task from; null when the task names no module. */
  source: { url: string; exportName: string } | null;
}

/** What a handler thread needs to run one task. */
export interface ThreadTarget {
  url: string;
  exportName: string;
  resourceLimits: ResourceLimits | null;
  /** Threads are shared by targets with the same limits. */
  poolKey: string;
}

const LIMITS: ReadonlyArray<keyof ResourceLimits> = [
  'maxOldGenerationSizeMb',
  'maxYoungGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
];

/** Checks an `isolation` value; `where` names it in the error (`task "x"`, `worker option`). */
export function resolveIsolation(value: Isolation, where: string, code: ErrorCode): ResolvedIsolation {
  if (value === 'none' || value === 'thread') return { mode: value, resourceLimits: null };
  const fail = (detail: string): never => {
    throw new NightshiftError(code, `${where}: isolation ${detail}`);
  };
  if (typeof value !== 'object' || value === null || value.mode !== 'thread') {
    return fail(`must be 'none', 'thread' or { mode: 'thread', resourceLimits }`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'mode' && key !== 'resourceLimits') fail(`has an unknown key "${key}"`);
  }
  const limits = value.resourceLimits;
  if (limits === undefined) return { mode: 'thread', resourceLimits: null };
  if (typeof limits !== 'object' || limits === null) return fail('resourceLimits must be an object');
  for (const [key, limit] of Object.entries(limits)) {
    if (!LIMITS.includes(key as keyof ResourceLimits)) {
      fail(`resourceLimits has an unknown key "${key}" (known: ${LIMITS.join(', ')})`);
    }
    if (typeof limit !== 'number' || !(limit > 0) || !Number.isFinite(limit)) {
      fail(`resourceLimits.${key} must be a positive number of megabytes`);
    }
  }
  return { mode: 'thread', resourceLimits: { ...limits } };
}

/** Reads a task definition's `isolation`, `module` and `export`; `config_error` when they are wrong. */
export function resolveTaskIsolation(
  name: string,
  definition: Pick<TaskDefinition, 'isolation' | 'module' | 'export'>,
): TaskIsolation {
  const where = `task "${name}"`;
  const own =
    definition.isolation === undefined ? null : resolveIsolation(definition.isolation, where, 'config_error');
  const { module, export: exportName } = definition;
  if (exportName !== undefined && (typeof exportName !== 'string' || exportName.length === 0)) {
    throw new NightshiftError('config_error', `${where}: export must be a non-empty string`);
  }
  if (module === undefined) {
    if (exportName !== undefined) {
      throw new NightshiftError('config_error', `${where}: export is given without the module it names`);
    }
    if (own?.mode === 'thread') throw missingModule(where, `its isolation is 'thread'`);
    return { own, source: null };
  }
  return { own, source: { url: moduleUrl(module, where), exportName: exportName ?? 'default' } };
}

/**
 * The handler thread of each task the worker runs in a thread (`workerIsolation` applies to tasks
 * without their own setting). Throws `invalid_argument` naming every such task without a module.
 */
export function threadTargets(
  tasks: ReadonlyArray<{ name: string; isolation: TaskIsolation }>,
  workerIsolation: ResolvedIsolation,
): Map<string, ThreadTarget> {
  const targets = new Map<string, ThreadTarget>();
  const missing: string[] = [];
  for (const { name, isolation } of tasks) {
    const { mode, resourceLimits } = isolation.own ?? workerIsolation;
    if (mode !== 'thread') continue;
    if (!isolation.source) {
      missing.push(name);
      continue;
    }
    const poolKey = resourceLimits === null ? '' : JSON.stringify(resourceLimits);
    targets.set(name, { ...isolation.source, resourceLimits, poolKey });
  }
  if (missing.length > 0) {
    throw missingModule(
      `task${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}"`).join(', ')}`,
      `the worker's isolation is 'thread'`,
      'invalid_argument',
    );
  }
  return targets;
}

function missingModule(where: string, because: string, code: ErrorCode = 'config_error'): NightshiftError {
  return new NightshiftError(
    code,
    `${where}: ${because}, so a thread must load the handler: give the task module: import.meta.url and export: '<the name it is exported as>'`,
  );
}

function moduleUrl(module: string | URL, where: string): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string' && module.length > 0) {
    if (isAbsolute(module)) return pathToFileURL(module).href;
    if (URL.canParse(module)) return module;
  }
  throw new NightshiftError(
    'config_error',
    `${where}: module must be a file URL (import.meta.url) or an absolute path, got ${JSON.stringify(String(module))}`,
  );
}
