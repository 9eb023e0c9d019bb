/**
 * The overview charts' time ranges (GET /stats `minutes` and `bucketSeconds`), the range the address
 * names (`/?range=6h`), and Auto: the shortest range that holds every attempt of the last hour, so a
 * burst of a few seconds (the demo, a service just started) fills the chart instead of sitting in one
 * bucket at the edge of an hour; after a quiet hour, the shorter of 6 h and 24 h that holds any attempt.
 */
import { api, query } from './api.js';
import type { StatsBucket } from './types.js';

export interface StatsRange {
  id: string;
  /** What the selector says. */
  label: string;
  minutes: number;
  bucketSeconds: number;
}

/** Shortest first; each about 60-72 buckets, so every range draws alike. */
export const RANGES: readonly StatsRange[] = [
  { id: '1m', label: '1 min', minutes: 1, bucketSeconds: 1 },
  { id: '5m', label: '5 min', minutes: 5, bucketSeconds: 5 },
  { id: '15m', label: '15 min', minutes: 15, bucketSeconds: 15 },
  { id: '1h', label: '1 h', minutes: 60, bucketSeconds: 60 },
  { id: '6h', label: '6 h', minutes: 360, bucketSeconds: 300 },
  { id: '24h', label: '24 h', minutes: 1440, bucketSeconds: 1200 },
];

/** The range Auto starts from. */
const HOUR = RANGES.find((range) => range.id === '1h') as StatsRange;

/** A range chosen in the selector: one of RANGES by id, or `auto`. */
export type RangeChoice = string;

/** The address parameter that keeps the chosen range (absent for Auto). */
const RANGE_PARAM = 'range';

/**
 * The range an address's query names, or `auto` when it names none or one this dashboard does not
 * know (a link typed by hand, or from a version with other ranges): it then reads as if it had none.
 */
export function rangeChoiceOf(search: string): RangeChoice {
  const id = new URLSearchParams(search).get(RANGE_PARAM);
  return RANGES.find((range) => range.id === id)?.id ?? 'auto';
}

/** The overview's address showing `choice`: Auto is the overview's plain address. */
export function rangePath(choice: RangeChoice): string {
  return `/${query({ [RANGE_PARAM]: choice === 'auto' ? undefined : choice })}`;
}

/** One answer of GET /stats with the range it was read for. */
export interface StatsRead {
  range: StatsRange;
  buckets: StatsBucket[];
  /** Auto widened past the hour: the longest range it read first and found without attempts. */
  quietRange: StatsRange | null;
}

/** Whether any attempt ended in the bucket. */
export function hasAttempts(bucket: StatsBucket): boolean {
  return bucket.completed + bucket.failed + bucket.retried > 0;
}

/**
 * The shortest range shorter than `read`'s whose window surely holds every attempt of `read`, or null
 * when none does (or there is none). A range's window starts `minutes` minus one bucket before the
 * start of its current bucket; the current bucket of `read` ends after now, so measuring from its end
 * errs toward the longer range.
 */
export function shorterRangeHolding(read: StatsRead): StatsRange | null {
  const first = read.buckets.find(hasAttempts);
  const last = read.buckets.at(-1);
  if (first === undefined || last === undefined) return null;
  const span = Date.parse(last.at) + read.range.bucketSeconds * 1_000 - Date.parse(first.at);
  const fits = RANGES.find(
    (range) =>
      range.minutes < read.range.minutes && (range.minutes * 60 - range.bucketSeconds) * 1_000 >= span,
  );
  return fits ?? null;
}

async function readRange(range: StatsRange, quietRange: StatsRange | null = null): Promise<StatsRead> {
  const { buckets } = await api<{ bucketSeconds: number; buckets: StatsBucket[] }>(
    'GET',
    `/stats?minutes=${range.minutes}&bucketSeconds=${range.bucketSeconds}`,
  );
  return { range, buckets, quietRange };
}

/**
 * Reads the chosen range; for `auto`, the last hour, then shorter ranges while the attempts read fit
 * one (each read no wider than the one before). Minute buckets cannot tell whether a burst fits the
 * last minute, the 5 s buckets of 5 minutes can: hence the loop. An hour without attempts does not
 * mean a quiet day (a nightly batch, a weekend): Auto then reads 6 h, and 24 h only when 6 h has none
 * either, so a quiet page costs two or three reads, and a busy one never reads past the hour.
 */
export async function loadStats(choice: RangeChoice): Promise<StatsRead> {
  const chosen = RANGES.find((range) => range.id === choice);
  if (chosen !== undefined) return readRange(chosen);
  let read = await readRange(HOUR);
  if (!read.buckets.some(hasAttempts)) {
    for (const longer of RANGES.filter((range) => range.minutes > HOUR.minutes)) {
      read = await readRange(longer, read.range);
      if (read.buckets.some(hasAttempts)) break;
    }
    return read;
  }
  for (let shorter = shorterRangeHolding(read); shorter !== null; shorter = shorterRangeHolding(read)) {
    read = await readRange(shorter);
  }
  return read;
}
