/**
 * The public surface of the `nightshift` package. Anything not exported here is internal and may
 * change without notice.
 */
export {
  Nightshift,
  type ConnectOptions,
  type EnqueueResult,
  type Service,
  type TypedScheduleService,
  type TypedSchedulerOptions,
} from './nightshift.js';
export { defineTask } from './task.js';
export {
  contractJsonSchema,
  defineContract,
  implement,
  isContract,
  isImplementation,
  type ContractDefinition,
  type ContractHandlerResult,
  type ContractInput,
  type ContractJsonSchemaOptions,
  type ContractPayload,
  type ContractResult,
  type TaskContract,
  type TaskDefaults,
  type TaskImplementation,
} from './contract.js';
export type {
  AnyTaskJob,
  ContractList,
  ImplementationList,
  JobId,
  RegisteredTasks,
  TaskJob,
  TaskName,
  TaskSignature,
  TaskSignatures,
  TypedEnqueueItem,
  TypedScheduleChanges,
  TypedScheduleInput,
} from './task-types.js';
export { defineConfig, type NightshiftConfig } from './config.js';
// createMetrics is `nightshift/metrics`: prom-client takes a noticeable time to load, paid only by
// those who serve metrics (`ns.metrics()` loads it on first use).
export {
  ALERT_KINDS,
  type Alert,
  type AlertKind,
  type AlertsConfig,
  type QueueAlertThresholds,
} from './observe/alert.js';
export type {
  BackoffOptions,
  ChildEnqueueItem,
  ChildEnqueueOptions,
  Handler,
  Isolation,
  JobContext,
  TaskDefinition,
  TaskMap,
  ThreadIsolation,
} from './task.js';
export type { EnqueueItem, EnqueueOptions } from './enqueue.js';
export type { TaskCatalogEntry } from './task-catalog.js';
export type { WaitForOptions } from './wait-for.js';
export { JOB_STATES, FINAL_STATES, isFinalState, isJobState } from './job.js';
export type { Job, JobError, JobLogLevel, JobLogLine, JobRun, JobState, RunOutcome } from './job.js';
export {
  NightshiftError,
  LeaseLostError,
  NonRetryableError,
  EnqueueItemError,
  type ErrorCode,
} from './errors.js';
export {
  EventBus,
  type NightshiftEvents,
  type NightshiftEventName,
  type AttemptEventBase,
} from './events.js';
export { createLogger, type Logger } from './logger.js';
export {
  CLUSTER_EVENT_TYPES,
  type ClusterEvent,
  type ClusterEventFilter,
  type ClusterEventType,
} from './cluster-events.js';
export type { FollowEventsOptions } from './event-feed.js';
export type { EventReadInput } from './validation/read-pages.js';
// Values from modules that do not load the task itself (see src/http-jobs/index.ts).
export { HTTP_REQUEST_TASK } from './http-jobs/task-name.js';
export { DestinationRefusedError, HttpRequestError, HttpStatusError } from './http-jobs/errors.js';
export type {
  HttpJobsOptions,
  HttpRequestPayload,
  HttpRequestResult,
  ResolveHost,
  SecretRef,
} from './http-jobs/index.js';
export { Worker } from './worker/worker.js';
export type { StopOptions } from './runtime/stop-options.js';
export type { WorkerOptions } from './worker/options.js';
export { JobCancelledError, JobTimeoutError, WorkerShutdownError } from './worker/abort-reasons.js';
export { installShutdownSignals, type ShutdownSignalOptions, type Stoppable } from './worker/signals.js';
export { openStore, DEFAULT_DATABASE_URL } from './store/open.js';
export type {
  ConcurrencyKeyInfo,
  QueueLimitInfo,
  StartRate,
  DatabaseHealth,
  EventPage,
  Store,
  StoreDialect,
  ScheduleUpsertResult,
  TableHealth,
  QueueInfo,
  WorkerInfo,
} from './store/store.js';
export type { QueueService } from './queues.js';
export type { QueuesConfig, QueueSettings } from './queue-limits.js';
export type { QueueJobDefaults } from './queue-defaults.js';
export { Scheduler, type SchedulerOptions, type SchedulerPass } from './scheduler/scheduler.js';
export {
  ScheduleService,
  type ScheduleDetails,
  type ScheduleUpsertOutcome,
} from './scheduler/schedule-service.js';
export type { ScheduleListOptions } from './scheduler/schedule-list.js';
export type { TriggerOutcome } from './scheduler/operator.js';
export type {
  CatchUpPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleChanges,
  ScheduleCondition,
  ScheduleInput,
  ScheduleRunOutcome,
  ScheduleSource,
  SlotKind,
  SlotRecord,
  SlotStatus,
} from './schedule-types.js';
