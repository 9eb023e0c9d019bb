/**
 * The hosts HTTP jobs may call (`httpJobs.allowHosts`). Patterns:
 * - `api.example.com`: that host exactly;
 * - `*.example.com`: any subdomain of example.com, at any depth (not example.com itself);
 * - `*`: any host (the address policy still refuses private and metadata addresses);
 * - an IP literal, `203.0.113.7` or `[2001:db8::7]`.
 * Names compare as the URL parser normalises them (lower case, punycode, no trailing dot), so
 * `API.Example.com.` in a job's URL matches `api.example.com`. Ports are not part of a pattern.
 */
import { NightshiftError } from '../errors.js';

/** A URL's host as patterns compare it. */
export function normalHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

/** The compiled allow list. */
export class HostAllowList {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly any: boolean;

  constructor(patterns: readonly string[]) {
    if (!Array.isArray(patterns)) {
      throw new NightshiftError('config_error', 'httpJobs.allowHosts must be an array of host patterns');
    }
    let any = false;
    for (const pattern of patterns) {
      if (pattern === '*') any = true;
      else if (typeof pattern === 'string' && pattern.startsWith('*.')) {
        this.suffixes.push(`.${hostOf(pattern.slice(2), pattern)}`);
      } else this.exact.add(hostOf(pattern, pattern));
    }
    this.any = any;
  }

  /** Whether `hostname` (a URL's `hostname`, IPv6 in brackets) is allowed. */
  allows(hostname: string): boolean {
    const host = normalHost(hostname);
    if (this.any || this.exact.has(host)) return true;
    return this.suffixes.some((suffix) => host.endsWith(suffix));
  }
}

function hostOf(text: unknown, pattern: unknown): string {
  const invalid = (): NightshiftError =>
    new NightshiftError(
      'config_error',
      `httpJobs.allowHosts: ${JSON.stringify(pattern)} is not a host pattern (api.example.com, *.example.com, *, or an IP address)`,
    );
  if (typeof text !== 'string' || text === '' || /[/\s@?#*:]/.test(text.replace(/^\[.*\]$/, ''))) {
    throw invalid();
  }
  try {
    const url = new URL(`http://${text}/`);
    if (url.port !== '') throw invalid();
    return normalHost(url.hostname);
  } catch {
    throw invalid();
  }
}
