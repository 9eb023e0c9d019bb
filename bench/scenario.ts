/** What every scenario module provides, and the table it hands back to the runner. */
import type { BenchOptions } from './options.js';
import type { BenchSystem } from './system.js';

/** One printed table. The last column of a system's row is the settings it ran with. */
export interface Section {
  title: string;
  /** Lines printed under the title: what the figures mean and how they were taken. */
  notes: string[];
  header: string[];
  rows: string[][];
}

/** What a scenario gets from the runner. */
export interface ScenarioContext {
  systems: readonly BenchSystem[];
  options: BenchOptions;
  log(line: string): void;
}

/** A scenario: a name for `--scenario` and how to run it. */
export interface Scenario {
  name: string;
  /** False for scenarios that run only when named (`--scenario`), being long. */
  inDefaultRun: boolean;
  run(context: ScenarioContext): Promise<Section[]>;
}

/** Two decimals, or two significant digits below 0.1 so a ratio never prints as 0.00x. */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

/** A rate or count without decimals, thousands grouped. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds: one decimal below 100, none above. */
export function formatMs(value: number): string {
  return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

/** The error of a failed measurement, as one short line for a table cell. */
export function failure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `failed: ${message.split('\n')[0]?.slice(0, 120) ?? ''}`;
}

/**
 * A row for a system with no figures: its leading cells, then `message` (why), blanks, and its
 * settings in the last of `columns` cells.
 */
export function messageRow(lead: string[], message: string, columns: number, settings: string): string[] {
  const blanks = Array.from({ length: Math.max(0, columns - lead.length - 2) }, () => '');
  return [...lead, message, ...blanks, settings];
}
