/**
 * Where an HTTP job may connect: the URL's scheme and host (allow list), then every address its host
 * resolves to (address policy).
 *
 * Two checks, one guarantee. `check(url)` runs before a request and refuses with a clear message
 * without opening a socket. It cannot be the protection on its own: a name may resolve to a public
 * address now and to 127.0.0.1 a millisecond later (DNS rebinding). The protection is `lookup`, the
 * resolver the request's socket uses: it resolves the name again, refuses if any answer is refused,
 * and the socket connects only to addresses it checked. IP literals never reach a resolver (Node
 * connects to them directly), so `check` is what judges them, and they cannot change.
 */
import { isIP, type LookupFunction } from 'node:net';
import { DestinationRefusedError } from './errors.js';
import type { ResolvedHttpJobsOptions } from './options.js';

/** The IP address a URL's hostname is, or null for a name. */
function ipLiteral(hostname: string): string | null {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) === 0 ? null : bare;
}

/** The destination rules of one `httpJobs` configuration. */
export class Destinations {
  constructor(private readonly options: ResolvedHttpJobsOptions) {}

  /** Why `url` may not be called, judged without DNS (scheme, credentials, allow list, IP literal). */
  urlRefusal(url: URL): string | null {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `only http: and https: URLs can be called, not ${url.protocol}`;
    }
    if (url.username !== '' || url.password !== '') {
      return 'the URL holds credentials, which would be stored with the job; reference a secret in headers instead';
    }
    if (!this.options.hosts.allows(url.hostname)) return `host ${url.hostname} is not in httpJobs.allowHosts`;
    const literal = ipLiteral(url.hostname);
    return literal === null ? null : this.options.addresses.refusal(literal);
  }

  /** Refuses (DestinationRefusedError) a URL that may not be called, resolving its host once. */
  async check(url: URL): Promise<void> {
    const refusal = this.urlRefusal(url);
    if (refusal !== null) throw new DestinationRefusedError(`refused ${url.origin}: ${refusal}`);
    if (ipLiteral(url.hostname) === null) await this.checkedAddresses(url.hostname);
  }

  /** The connect-time resolver for a request's socket (see the module comment). */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.checkedAddresses(hostname).then(
      (addresses) => {
        const wanted =
          options.family === 6 || options.family === 'IPv6'
            ? 6
            : options.family === 4 || options.family === 'IPv4'
              ? 4
              : 0;
        const usable = addresses
          .map((address) => ({ address, family: isIP(address) }))
          .filter((entry) => wanted === 0 || entry.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          callback(lookupFailure(`${hostname} has no IPv${wanted} address`), '', 0);
        } else if (options.all === true) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  /** The host's addresses, every one of them allowed; otherwise DestinationRefusedError. */
  private async checkedAddresses(hostname: string): Promise<string[]> {
    const addresses = await this.options.resolveHost(hostname);
    if (addresses.length === 0) throw lookupFailure(`${hostname} resolves to no address`);
    for (const address of addresses) {
      const refusal = this.options.addresses.refusal(address);
      if (refusal !== null) {
        throw new DestinationRefusedError(`refused ${hostname}: its address ${refusal}`);
      }
    }
    return addresses;
  }
}

function lookupFailure(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ENOTFOUND' });
}
