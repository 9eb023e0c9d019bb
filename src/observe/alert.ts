/**
 * Alerts: what they are and how a config sets their thresholds. The conditions are computed from the
 * database by ./alerts.ts, so every process reading the same database reports the same alerts.
 */
import { NightshiftError } from '../errors.js';
import { MAX_TIMER_MS, queueNameIn } from '../validation/bounds.js';

/** Every kind of alert, in the order they are listed. */
export const ALERT_KINDS = [
  'max_duration',
  'stuck_job',
  'schedule_suspended',
  'missed_slots',
  'queue_depth',
  'oldest_ready_age',
  'unserved_queue',
] as const;
/** A kind of alert. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** One current alert. `kind` and `subject` together name it; the other fields describe it. */
export interface Alert {
  kind: AlertKind;
  /** What it is about: `job:<id>`, `schedule:<id>` or `queue:<name>`. */
  subject: string;
  message: string;
  /** ISO time the condition began (for `queue_depth`, which has no history: when it was read). */
  since: string;
  jobId?: string;
  scheduleId?: string;
  queue?: string;
}

/** Thresholds of one queue's alerts; an absent threshold raises nothing. */
export interface QueueAlertThresholds {
  /** Raise `queue_depth` when more jobs than this are queued (due, unclaimed). */
  queueDepth?: number;
  /** Raise `oldest_ready_age` when a due job has waited longer than this to be claimed. */
  oldestReadyAgeMs?: number;
}

/** Config `alerts` (and `Nightshift.connect({ alerts })`). docs/METRICS.md lists what each key does. */
export interface AlertsConfig extends QueueAlertThresholds {
  /** Per-queue thresholds; each replaces the default above for its queue, key by key. */
  queues?: Record<string, QueueAlertThresholds>;
  /**
   * A running job whose lease ended more than this long ago is `stuck_job` (its worker stopped renewing
   * and no rescuer recovered it). Default 30,000: a rescuer sweeps lapsed leases within seconds.
   */
  stuckJobGraceMs?: number;
  /**
   * A queue whose oldest ready job has waited longer than this while no live worker claims from the
   * queue (none runs, or none lists it) raises `unserved_queue`; a paused queue never does. Default
   * 60,000: longer than a worker's restart, so a deploy raises nothing. Null: never (workers started
   * on demand, when work waits).
   */
  unservedGraceMs?: number | null;
  /** Missed and skipped slots recorded this long ago or less raise `missed_slots`. Default 3,600,000. */
  missedSlotsWindowMs?: number;
  /** How often the API server's alert monitor reads them (events raised/cleared). Default 15,000. */
  intervalMs?: number;
}

export const DEFAULT_STUCK_JOB_GRACE_MS = 30_000;
export const DEFAULT_UNSERVED_GRACE_MS = 60_000;
export const DEFAULT_MISSED_SLOTS_WINDOW_MS = 3_600_000;
export const DEFAULT_ALERT_INTERVAL_MS = 15_000;

const THRESHOLD_KEYS = ['queueDepth', 'oldestReadyAgeMs'] as const;
const CONFIG_KEYS = [
  ...THRESHOLD_KEYS,
  'queues',
  'stuckJobGraceMs',
  'unservedGraceMs',
  'missedSlotsWindowMs',
  'intervalMs',
];

/** Checks an `alerts` config (from a config file: anything may be in it); `config_error` otherwise. */
export function validateAlertsConfig(value: unknown): AlertsConfig {
  const config: AlertsConfig & Record<string, unknown> = plainObject(value, 'alerts');
  refuseUnknown(config, CONFIG_KEYS, 'alerts');
  checkThresholds(config, 'alerts');
  for (const key of ['stuckJobGraceMs', 'missedSlotsWindowMs'] as const) {
    if (config[key] !== undefined) wholeNumber(config[key], `alerts.${key}`, 0);
  }
  if (config['unservedGraceMs'] !== undefined && config['unservedGraceMs'] !== null)
    wholeNumber(config['unservedGraceMs'], 'alerts.unservedGraceMs', 0);
  if (config['intervalMs'] !== undefined) wholeNumber(config['intervalMs'], 'alerts.intervalMs', 1);
  if (config['queues'] !== undefined) {
    const queues = plainObject(config['queues'], 'alerts.queues');
    for (const [queue, thresholds] of Object.entries(queues)) {
      // A name no queue can have (blank, padded, too long) would hold thresholds that never apply.
      queueNameIn('queue name', queue, { code: 'config_error', prefix: 'alerts.queues: ' });
      const where = `alerts.queues[${JSON.stringify(queue)}]`;
      const entry = plainObject(thresholds, where);
      refuseUnknown(entry, THRESHOLD_KEYS, where);
      checkThresholds(entry, where);
    }
  }
  return config;
}

function checkThresholds(entry: Record<string, unknown>, where: string): void {
  for (const key of THRESHOLD_KEYS) {
    if (entry[key] !== undefined) wholeNumber(entry[key], `${where}.${key}`, 0);
  }
}

function plainObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NightshiftError('config_error', `${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

function refuseUnknown(entry: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key)) {
      throw new NightshiftError(
        'config_error',
        `${where}: unknown key "${key}" (known: ${known.join(', ')})`,
      );
    }
  }
}

function wholeNumber(value: unknown, where: string, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new NightshiftError(
      'config_error',
      `${where} must be an integer from ${min} to ${MAX_TIMER_MS}, got ${JSON.stringify(value)}`,
    );
  }
}
