/**
 * The parts of a store front that are whole Store interfaces of their own (schedules, API tokens, job
 * logs, observation queries, the fleet, concurrency limits). A front extends `StoreParts`, so each part's methods are the
 * store's methods, bound to the part: a front restates none of them. The method lists below are
 * written once for both backends, and the compiler checks each names exactly its interface's methods.
 */
import type {
  FleetStore,
  JobLogStore,
  LimitsStore,
  ObserveStore,
  ScheduleStore,
  TokenStore,
} from './store.js';

/** One instance of each part. */
export interface StorePartSet {
  schedules: ScheduleStore;
  tokens: TokenStore;
  jobLogs: JobLogStore;
  observe: ObserveStore;
  fleet: FleetStore;
  limits: LimitsStore;
}

/** The Store methods the parts implement. */
export type StorePartMethods = ScheduleStore &
  TokenStore &
  JobLogStore &
  ObserveStore &
  FleetStore &
  LimitsStore;

type MethodsOf<T> = Record<keyof T, true>;

const METHODS: { [P in keyof StorePartSet]: MethodsOf<StorePartSet[P]> } = {
  schedules: {
    scheduleCreate: true,
    scheduleUpdate: true,
    scheduleDelete: true,
    scheduleGet: true,
    scheduleList: true,
    scheduleUpsertMany: true,
    scheduleSync: true,
    scheduleFire: true,
    scheduleSettle: true,
    scheduleApply: true,
    scheduleSlotList: true,
    scheduleSlotPrune: true,
  },
  tokens: {
    tokenCreate: true,
    tokenList: true,
    tokenRevoke: true,
    tokenFind: true,
    tokenTouch: true,
    tokenAnyActive: true,
  },
  jobLogs: { jobLogAppend: true, jobLogList: true },
  observe: {
    queueLoadList: true,
    jobRunningList: true,
    scheduleSlotLapseList: true,
    jobRunStats: true,
    queueBacklog: true,
  },
  fleet: {
    workerRegister: true,
    workerHeartbeat: true,
    workerDelete: true,
    workerList: true,
    workerSweep: true,
    queuePause: true,
    queueResume: true,
    queuePausedList: true,
    queueList: true,
  },
  limits: {
    groupList: true,
    groupSetWeight: true,
    concurrencyKeyList: true,
    concurrencyKeySetLimit: true,
    concurrencyKeySetRate: true,
    concurrencyKeyPrune: true,
    queueLimitList: true,
    queueSetLimit: true,
    queueSetRate: true,
  },
};

/** Copies the methods `methods` names from `part` onto `front`, bound to `part`. */
function bindMethods<T extends object>(front: object, part: T, methods: MethodsOf<T>): void {
  for (const name of Object.keys(methods) as Array<keyof T>) {
    const method = part[name];
    if (typeof method === 'function')
      Object.defineProperty(front, name, { value: method.bind(part), writable: true, configurable: true });
  }
}

/** The base class of a store front: its instances carry every method of their parts. */
export const StoreParts = class {
  constructor(parts: StorePartSet) {
    bindMethods(this, parts.schedules, METHODS.schedules);
    bindMethods(this, parts.tokens, METHODS.tokens);
    bindMethods(this, parts.jobLogs, METHODS.jobLogs);
    bindMethods(this, parts.observe, METHODS.observe);
    bindMethods(this, parts.fleet, METHODS.fleet);
    bindMethods(this, parts.limits, METHODS.limits);
  }
} as new (parts: StorePartSet) => StorePartMethods;
