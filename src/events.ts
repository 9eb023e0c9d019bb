/**
 * The typed event map of a Nightshift instance (`ns.events`), with `noun:verb` keys.
 *
 * Events about a job's outcome (`job:completed`, `job:failed`, `job:retry`, `job:released`,
 * `job:cancelled`, `job:timeout`) fire only after the outcome is persisted, so a listener may read the
 * job back and see it. Tests use events as probes instead of sleeping.
 *
 * Most events are local: they describe what this process's worker, rescuer or pruner did. One is
 * cluster-wide: `cluster:event` delivers every event of the cluster event log (docs/EVENTS.md), written by
 * any process, this one included, once per listener; its payload's `type` says what happened
 * (`job:completed`, `schedule:fired`, ...). Reading the log starts with its first listener and stops with
 * its last, so an instance nobody listens to pays nothing.
 *
 * Listeners run synchronously inside the engine's loops; a listener that throws is logged and
 * ignored, because an observer must never break the worker it observes.
 */
import type { ClusterEvent } from './cluster-events.js';
import type { JobError } from './job.js';
import type { Alert } from './observe/alert.js';
import type { ScheduleRunOutcome, SlotStatus } from './schedule-types.js';
import type { Logger } from './logger.js';

/** Fields shared by every event about one attempt of a job. */
export interface AttemptEventBase {
  jobId: string;
  task: string;
  queue: string;
  attempt: number;
  workerId: string;
}

/** Every event nightshift emits, by name. */
export interface NightshiftEvents {
  /**
   * This instance inserted a new job (`enqueue`, `enqueueMany`, a child from `ctx.enqueue` or
   * `ctx.enqueueMany` in one of its workers, or a schedule's slot when the scheduler runs here). A repeated idempotency key creates nothing and emits nothing; with a caller's `tx` the
   * event fires when the insert returns, before that transaction commits.
   */
  'job:enqueued': { jobId: string; task: string; queue: string; scheduleId: string | null };
  /** A worker claimed a job and is about to run its handler. `runAt`: when it was due; `startedAt`: claimed. */
  'job:claimed': AttemptEventBase & { runAt: Date; startedAt: Date };
  /** The attempt's success was persisted. */
  'job:completed': AttemptEventBase & { result: unknown; durationMs: number };
  /** The attempt failed (or timed out) with attempts left; the job waits `retryDelayMs` before its next try. */
  'job:retry': AttemptEventBase & { error: JobError; retryDelayMs: number };
  /** The attempt failed (or timed out) and no attempts remain: the job is `failed`. */
  'job:failed': AttemptEventBase & { error: JobError };
  /** The attempt exceeded its timeout (emitted after persistence, before `job:retry`/`job:failed`). */
  'job:timeout': AttemptEventBase & { timeoutMs: number };
  /** The attempt ended because the job was cancelled. */
  'job:cancelled': AttemptEventBase;
  /** A graceful shutdown gave the job back without spending the attempt. */
  'job:released': AttemptEventBase;
  /** This attempt no longer holds the job's lease; its signal was aborted and its outcome dropped. */
  'job:lease_lost': AttemptEventBase;
  /** The attempt has been running longer than its task's `maxDurationMs`; it keeps running. */
  'job:max_duration': AttemptEventBase & { maxDurationMs: number };
  /** A worker started claiming. */
  'worker:started': { workerId: string; queues: string[] | null; concurrency: number };
  /** A worker stopped; nothing of it is running any more. */
  'worker:stopped': { workerId: string };
  /** The store stayed unavailable longer than `maxStoreDownMs`; the worker gave up. */
  'worker:fatal': { workerId: string; error: Error };
  /** The store stayed unavailable longer than the scheduler's `maxStoreDownMs`; the scheduler gave up. */
  'scheduler:fatal': { error: Error };
  /** A rescue sweep recovered lapsed leases (only emitted when it found some). */
  'rescuer:swept': { requeued: string[]; failed: string[] };
  /** The pruner deleted finished jobs past retention (only emitted when it deleted some). */
  'pruner:pruned': { deleted: number };
  /**
   * A scheduler here recorded what became of a slot: `enqueued` (also a waiting slot released), or
   * `skipped`, `missed` or `waiting`, with the ledger's reason. `slots` counts a range of missed slots.
   */
  'schedule:slot': { scheduleId: string; status: SlotStatus; reason: string | null; slots: number };
  /** A scheduler here settled a run of a schedule: its job reached a final state. */
  'schedule:settled': {
    scheduleId: string;
    outcome: ScheduleRunOutcome;
    /** From the slot's time to its job's start, when it started. */
    runLagMs: number | null;
  };
  /** An alert condition began (seen by this process's alert monitor; see src/observe/alert-monitor.ts). */
  'alert:raised': Alert;
  /** An alert condition that was raised ended. */
  'alert:cleared': Alert;
  /** A store call failed; the loop named by `source` backs off and carries on. */
  'store:error': { source: string; error: unknown; retryInMs: number };
  /** An event of the cluster event log, from any process (see the module comment). */
  'cluster:event': ClusterEvent;
}

/** Name of a nightshift event. */
export type NightshiftEventName = keyof NightshiftEvents;

type Listener<K extends NightshiftEventName> = (payload: NightshiftEvents[K]) => void;

/**
 * A small typed emitter; `on` returns an unsubscribe function.
 *
 * Each event's listeners are an array replaced on every `on`/`off`, never changed in place: `emit`
 * walks the array it found without copying it (a copy per emit was an allocation per finished job),
 * and a listener added or removed while an event is being delivered takes effect from the next one.
 */
export class EventBus {
  private readonly listeners = new Map<NightshiftEventName, ReadonlyArray<(payload: never) => void>>();
  /** Per event: what runs when its first listener arrives, and the stop function that returned. */
  private readonly activators = new Map<
    NightshiftEventName,
    { start: () => () => void; stop?: (() => void) | undefined }
  >();

  constructor(private readonly logger: Logger) {}

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends NightshiftEventName>(event: K, listener: Listener<K>): () => void {
    const current = this.listeners.get(event) ?? [];
    // Subscribing a listener twice is a no-op, as with a set.
    if (!current.includes(listener)) this.listeners.set(event, [...current, listener]);
    const activator = this.activators.get(event);
    if (activator && activator.stop === undefined) activator.stop = activator.start();
    return () => this.off(event, listener);
  }

  /**
   * Runs `start` whenever `event` gains its first listener (now, if it has one), and the function it
   * returns when the last one leaves. Returns a function that stops it and forgets `start`.
   */
  activate(event: NightshiftEventName, start: () => () => void): () => void {
    const activator: { start: () => () => void; stop?: (() => void) | undefined } = { start };
    this.activators.set(event, activator);
    if (this.listeners.has(event)) activator.stop = start();
    return () => {
      if (this.activators.get(event) === activator) this.activators.delete(event);
      activator.stop?.();
      activator.stop = undefined;
    };
  }

  /** Subscribes for the next matching event only. */
  once<K extends NightshiftEventName>(
    event: K,
    listener: Listener<K>,
    filter: (payload: NightshiftEvents[K]) => boolean = () => true,
  ): () => void {
    const off = this.on(event, (payload) => {
      if (!filter(payload)) return;
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener added with `on`. */
  off<K extends NightshiftEventName>(event: K, listener: Listener<K>): void {
    const current = this.listeners.get(event);
    const index = current?.indexOf(listener) ?? -1;
    if (!current || index < 0) return;
    if (current.length === 1) {
      this.listeners.delete(event);
      const activator = this.activators.get(event);
      activator?.stop?.();
      if (activator) activator.stop = undefined;
    } else {
      this.listeners.set(event, current.toSpliced(index, 1));
    }
  }

  /** True when anyone listens; lets hot paths skip building payloads nobody reads. */
  has(event: NightshiftEventName): boolean {
    return this.listeners.has(event);
  }

  /** Calls every listener of `event` synchronously; a throwing listener is logged and skipped. */
  emit<K extends NightshiftEventName>(event: K, payload: NightshiftEvents[K]): void {
    const listeners = this.listeners.get(event);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.logger.error({ err: error, event }, 'event listener threw; ignored');
      }
    }
  }
}
