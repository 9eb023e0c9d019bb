/**
 * The `httpJobs` settings (config key and `Nightshift.connect` option), their defaults, and their
 * checks: a bad setting is a `config_error` at start, never a surprise when the first job runs.
 */
import { lookup } from 'node:dns/promises';
import { NightshiftError } from '../errors.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
import { AddressPolicy } from './address-policy.js';
import { HostAllowList } from './host-allow-list.js';
import { SECRET_NAME } from './secrets.js';

/** Resolves a host name to its IP addresses (what the connection will use). */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** Settings of the built-in `http.request` task. */
export interface HttpJobsOptions {
  /** Hosts jobs may call: `api.example.com`, `*.example.com`, `*` (any public host), or an IP address. */
  allowHosts: string[];
  /**
   * Private, loopback, link-local, unique-local, CGNAT and other non-public addresses are refused by
   * default. `true` allows them all except cloud metadata endpoints; a list of CIDRs or addresses
   * (`['10.1.0.0/16', '127.0.0.1']`) allows exactly those, metadata endpoints included if listed.
   */
  allowPrivateNetworks?: boolean | string[];
  /**
   * Secret values by name. A job references a secret by name; the value is looked up when the job
   * runs: environment variable `NIGHTSHIFT_SECRET_<NAME>` first (name upper-cased, every character
   * other than A-Z and 0-9 turned into `_`), then this map.
   */
  secrets?: Record<string, string>;
  /** Bytes of the response body kept in the job's result. Default 4,096; at most 1 MiB. */
  maxResponseBytes?: number;
  /** Request timeout for jobs that set none. Default 30,000 ms. */
  defaultTimeoutMs?: number;
  /** Resolves host names; default the system resolver (`dns.lookup`). For tests and custom DNS. */
  resolveHost?: ResolveHost;
}

/** Upper bound of `maxResponseBytes`: the excerpt lives in a job row. */
export const MAX_RESPONSE_BYTES_LIMIT = 1_048_576;
/** Upper bound of any request timeout. */
export const MAX_TIMEOUT_MS = 3_600_000;

/** The settings with every default applied and every check passed. */
export interface ResolvedHttpJobsOptions {
  hosts: HostAllowList;
  addresses: AddressPolicy;
  secrets: ReadonlyMap<string, string>;
  maxResponseBytes: number;
  defaultTimeoutMs: number;
  resolveHost: ResolveHost;
}

const OPTION_NAMES = keyNames<HttpJobsOptions>({
  allowHosts: true,
  allowPrivateNetworks: true,
  secrets: true,
  maxResponseBytes: true,
  defaultTimeoutMs: true,
  resolveHost: true,
});

/** Checks `options` and fills in defaults; throws `config_error` on anything wrong. */
export function resolveHttpJobsOptions(options: HttpJobsOptions): ResolvedHttpJobsOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new NightshiftError('config_error', 'httpJobs must be an object with an allowHosts list');
  }
  refuseUnknownKeys(options, OPTION_NAMES, 'setting', { code: 'config_error', prefix: 'httpJobs: ' });
  const privateNetworks = options.allowPrivateNetworks ?? false;
  if (typeof privateNetworks !== 'boolean' && !Array.isArray(privateNetworks)) {
    throw new NightshiftError(
      'config_error',
      'httpJobs.allowPrivateNetworks must be true, false, or a list of CIDRs',
    );
  }
  const resolveHost = options.resolveHost ?? systemResolve;
  if (typeof resolveHost !== 'function') {
    throw new NightshiftError('config_error', 'httpJobs.resolveHost must be a function');
  }
  return {
    hosts: new HostAllowList(options.allowHosts),
    addresses: new AddressPolicy(privateNetworks),
    secrets: secretMap(options.secrets ?? {}),
    maxResponseBytes: integerIn(
      'maxResponseBytes',
      options.maxResponseBytes ?? 4096,
      0,
      MAX_RESPONSE_BYTES_LIMIT,
    ),
    defaultTimeoutMs: integerIn('defaultTimeoutMs', options.defaultTimeoutMs ?? 30_000, 1, MAX_TIMEOUT_MS),
    resolveHost,
  };
}

async function systemResolve(hostname: string): Promise<string[]> {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}

function secretMap(secrets: Record<string, string>): Map<string, string> {
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
    throw new NightshiftError('config_error', 'httpJobs.secrets must be an object of secret name to value');
  }
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(secrets)) {
    // A name no payload can reference (payloads are checked against the same pattern) is a mistake.
    if (!SECRET_NAME.test(name)) {
      throw new NightshiftError(
        'config_error',
        `httpJobs.secrets: ${JSON.stringify(name)} is not a secret name: letters, digits, ".", "_", "-", starting with a letter or digit, at most 128`,
      );
    }
    // The value is never echoed: a config error message may reach logs.
    if (typeof value !== 'string' || value === '') {
      throw new NightshiftError('config_error', `httpJobs.secrets["${name}"] must be a non-empty string`);
    }
    map.set(name, value);
  }
  return map;
}

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new NightshiftError('config_error', `httpJobs.${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}
