/** Turns the scenarios' sections into the printed report and the JSON record of a run. */
import os from 'node:os';
import type { BenchOptions } from './options.js';
import type { Section } from './scenario.js';

/** The JSON written to bench/results/latest.json. */
export interface BenchRecord {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  /** 1-minute load average before and after the run: how much else the machine was doing. */
  loadAverage: { start: number; end: number };
  options: BenchOptions;
  sections: Section[];
}

/** Builds the JSON record of a run. */
export function buildRecord(options: BenchOptions, sections: Section[], loadAtStart: number): BenchRecord {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? 0 },
    options,
    sections,
  };
}

/** The human-readable report: machine, then one table per section. */
export function formatRecord(record: BenchRecord): string {
  const { machine } = record;
  const lines: string[] = [
    `nightshift benchmark, ${record.date}: ${record.command}`,
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}`,
    `load average (1 min): ${record.loadAverage.start.toFixed(1)} at start, ${record.loadAverage.end.toFixed(1)} at end`,
  ];
  for (const section of record.sections) {
    lines.push('', `${section.title}:`, ...section.notes.map((note) => `  ${note}`));
    if (section.header.length > 0) lines.push(...table([section.header, ...section.rows]));
  }
  return lines.join('\n');
}

/** Left-aligns the first and last columns (system, settings), right-aligns the figures. */
function table(rows: string[][]): string[] {
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, col) =>
    Math.max(...rows.map((row) => (row[col] ?? '').length)),
  );
  return rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, col) =>
          col === 0 || col === columns - 1 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0),
        )
        .join('  ')
        .trimEnd(),
  );
}
