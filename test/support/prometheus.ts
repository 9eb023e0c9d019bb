/**
 * A Prometheus server owned by one test process (Debian's /usr/bin/prometheus): started from a
 * temporary config and a temporary TSDB on a spare loopback port, never the system service, and
 * stopped when the test is done or, through a watchdog, when the test process dies.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, sparePort } from './own-postgres.js';
import { waitUntil } from './wait-until.js';
import { startWatchdog } from './watchdog.js';

/** Where the Prometheus binary lives; NIGHTSHIFT_PROMETHEUS overrides it. */
export const PROMETHEUS_BIN = process.env['NIGHTSHIFT_PROMETHEUS'] ?? '/usr/bin/prometheus';

/** Why Prometheus cannot be started here, or null when it can. */
export function prometheusUnavailable(): string | null {
  return existsSync(PROMETHEUS_BIN)
    ? null
    : `no Prometheus at ${PROMETHEUS_BIN} (apt-get install prometheus; .ci/run does)`;
}

/** One sample of an instant query: the series' labels and its value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A scrape target as `/api/v1/targets` reports it. */
export interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/** A running Prometheus. */
export interface Prometheus {
  readonly url: string;
  /** An instant query through the HTTP API (`/api/v1/query`). */
  query(promql: string): Promise<Sample[]>;
  /** The active scrape targets. */
  targets(): Promise<Target[]>;
  /** Its log so far (for failure messages). */
  log(): string;
  /** Stops it and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `scrapeConfigs` (the YAML of the `scrape_configs` list, indented as its
 * items) and a 1 s scrape interval.
 */
export async function startPrometheus(scrapeConfigs: string): Promise<Prometheus> {
  const unavailable = prometheusUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', scrapeConfigs].join('\n'),
  );
  const port = await sparePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const pid = child.pid ?? 0;
  const watchdog = startWatchdog(pid, 'prometheus', dir);
  const onExit = (): void => {
    if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  };
  process.on('exit', onExit);
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    if (watchdog.pid !== undefined && isAlive(watchdog.pid)) process.kill(watchdog.pid, 'SIGTERM');
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async (path: string): Promise<unknown> => {
    const response = await fetch(url + path);
    const body = (await response.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };

  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`Prometheus exited ${child.exitCode}:\n${output}`);
        return (await fetch(`${url}/-/ready`).catch(() => null))?.status === 200;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: 'Prometheus ready' },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      };
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = (await api('/api/v1/targets?state=active')) as { activeTargets: Target[] };
      return data.activeTargets;
    },
    log: () => output,
    stop,
  };
}
