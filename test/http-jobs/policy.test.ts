/**
 * The rules HTTP jobs are held to, without a database: which addresses are refused and why, which
 * hosts an allow list matches, which settings are refused at start, and what an enqueue is told
 * about a bad payload.
 */
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/http-jobs/address-policy.js';
import { HostAllowList } from '../../src/http-jobs/host-allow-list.js';
import { HTTP_REQUEST_TASK, withHttpJobs, type HttpJobsOptions } from '../../src/http-jobs/index.js';
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it.each([
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'this-network'],
    ['169.254.10.10', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (CGNAT)'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['169.254.169.254', 'cloud metadata'],
    ['100.100.100.200', 'cloud metadata'],
    ['168.63.129.16', 'cloud metadata'],
    ['::1', 'loopback'],
    ['::', 'zero (unspecified)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:127.0.0.1', 'loopback', 'IPv4-mapped 127.0.0.1'],
    ['::ffff:7f00:1', 'loopback', 'IPv4-mapped 127.0.0.1'],
    ['::ffff:169.254.169.254', 'cloud metadata', 'IPv4-mapped 169.254.169.254'],
    ['::ffff:10.0.0.1', 'private', 'IPv4-mapped 10.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'cloud metadata', 'NAT64 169.254.169.254'],
    ['2002:c0a8:0101::1', 'private', '6to4 192.168.1.1'],
    ['::127.0.0.1', 'deprecated IPv4-compatible'],
  ])('refuses %s as %s', (address, label, embedded?: string) => {
    const form = embedded === undefined ? '' : ` (${embedded})`;
    expect(policy.refusal(address)).toBe(`${address}${form} is a ${label} address`);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.215.14', '64:ff9b::808:808'])(
    'allows the public address %s',
    (address) => {
      expect(policy.refusal(address)).toBeNull();
    },
  );

  it('opens exactly the listed networks, in every IPv6 form of them', () => {
    const some = new AddressPolicy(['10.1.0.0/16', '127.0.0.1', 'fd00::/8', '169.254.169.254/32']);
    for (const open of ['10.1.200.3', '127.0.0.1', '::ffff:127.0.0.1', 'fd00:ec2::254', '169.254.169.254']) {
      expect(some.refusal(open)).toBeNull();
    }
    expect(some.refusal('10.2.0.1')).toBe('10.2.0.1 is a private address');
    expect(some.refusal('127.0.0.2')).toBe('127.0.0.2 is a loopback address');
  });

  it('opens every private range with true, but never the metadata endpoints', () => {
    const all = new AddressPolicy(true);
    expect(all.refusal('10.0.0.1')).toBeNull();
    expect(all.refusal('::1')).toBeNull();
    expect(all.refusal('169.254.169.254')).toBe('169.254.169.254 is a cloud metadata address');
    expect(all.refusal('::ffff:a9fe:a9fe')).toBe(
      '::ffff:a9fe:a9fe (IPv4-mapped 169.254.169.254) is a cloud metadata address',
    );
    expect(all.refusal('fd00:ec2::254')).toBe('fd00:ec2::254 is a cloud metadata address');
  });

  it('refuses bad networks as config errors', () => {
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.0/x']) {
      expect(() => new AddressPolicy([bad])).toThrow(
        expect.objectContaining({ code: 'config_error', message: expect.stringContaining(bad) as unknown }),
      );
    }
  });
});

describe('HostAllowList', () => {
  const list = new HostAllowList(['api.example.com', '*.partner.example', '203.0.113.7', '[2001:db8::7]']);

  it.each([
    ['api.example.com', true],
    ['API.Example.COM.', true],
    ['x.api.example.com', false],
    ['example.com', false],
    ['a.partner.example', true],
    ['a.b.partner.example', true],
    ['partner.example', false],
    ['evilpartner.example', false],
    ['203.0.113.7', true],
    ['[2001:db8::7]', true],
    ['[2001:db8::8]', false],
  ])('%s allowed: %s', (host, allowed) => {
    expect(list.allows(host)).toBe(allowed);
  });

  it('allows any host with *', () => {
    expect(new HostAllowList(['*']).allows('anything.example')).toBe(true);
    expect(new HostAllowList([]).allows('anything.example')).toBe(false);
  });

  it('refuses patterns it cannot read', () => {
    for (const bad of [
      '',
      'api.example.com:8080',
      'https://api.example.com',
      'a*.example.com',
      'a b',
      '*.',
    ]) {
      expect(() => new HostAllowList([bad])).toThrow(expect.objectContaining({ code: 'config_error' }));
    }
  });
});

describe('httpJobs settings', () => {
  it.each<[string, unknown]>([
    ['httpJobs.allowHosts must be an array', {}],
    ['httpJobs: unknown setting "allowHost"', { allowHost: ['x'] }],
    [
      'httpJobs.maxResponseBytes must be an integer from 0 to 1048576',
      { allowHosts: [], maxResponseBytes: 2e6 },
    ],
    [
      'httpJobs.defaultTimeoutMs must be an integer from 1 to 3600000',
      { allowHosts: [], defaultTimeoutMs: 0 },
    ],
    [
      'httpJobs.allowPrivateNetworks must be true, false, or a list of CIDRs',
      { allowHosts: [], allowPrivateNetworks: 'yes' },
    ],
    ['httpJobs.secrets["t"] must be a non-empty string', { allowHosts: [], secrets: { t: 1 } }],
    ['httpJobs.secrets: "bad name" is not a secret name', { allowHosts: [], secrets: { 'bad name': 'x' } }],
  ])('refuses at start: %s', (message, options) => {
    expect(() => withHttpJobs({}, options as HttpJobsOptions)).toThrow(
      expect.objectContaining({ code: 'config_error', message: expect.stringContaining(message) as unknown }),
    );
  });

  it('adds http.request only when configured, and never over a task of that name', () => {
    const own = { 'http.request': () => null };
    expect(Object.keys(withHttpJobs({}, undefined))).toEqual([]);
    expect(withHttpJobs(own, undefined)).toBe(own);
    expect(Object.keys(withHttpJobs({}, { allowHosts: [] }))).toEqual([HTTP_REQUEST_TASK]);
    expect(() => withHttpJobs(own, { allowHosts: [] })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });
});

describe('http.request payloads', () => {
  const options: HttpJobsOptions = { allowHosts: ['api.example.com'] };

  it.each<[unknown, string]>([
    [{}, 'missing required field "url"'],
    [{ url: 'https://api.example.com', extra: 1 }, 'unknown field "extra"'],
    [
      { url: 'https://api.example.com', method: 'FETCH' },
      'method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    ],
    [{ url: 'not a url' }, 'url: must be an absolute http: or https: URL'],
    [{ url: 'ftp://api.example.com/x' }, 'url: only http: and https: URLs can be called, not ftp:'],
    [{ url: 'https://user:pw@api.example.com' }, 'url: the URL holds credentials'],
    [{ url: 'https://other.example.com' }, 'url: host other.example.com is not in httpJobs.allowHosts'],
    [
      { url: 'https://api.example.com', headers: { a: 1 } },
      'headers.a: must be a string or { secret: "name", format?: "Bearer {}" }',
    ],
    [
      { url: 'https://api.example.com', headers: { 'bad name': 'x' } },
      'headers.bad name: is not a valid header name',
    ],
    [
      { url: 'https://api.example.com', headers: { Host: 'x' } },
      'headers.Host: is set by the client and cannot be given',
    ],
    [
      { url: 'https://api.example.com', headers: { a: 'x\r\ny: z' } },
      'headers.a: must not contain CR, LF or NUL',
    ],
    [
      { url: 'https://api.example.com', headers: { a: { secret: '../x' } } },
      'headers.a.secret: must be a secret name',
    ],
    [
      { url: 'https://api.example.com', headers: { a: { secret: 'x', format: 'Bearer' } } },
      'headers.a.format: must contain {}',
    ],
    [
      { url: 'https://api.example.com', method: 'POST', json: {}, body: 'x' },
      'body: give either json or body, not both',
    ],
    [{ url: 'https://api.example.com', json: { a: 1 } }, 'json: a GET request carries no body'],
    [{ url: 'https://api.example.com', timeoutMs: 0 }, 'timeoutMs: must be >= 1'],
    [
      { url: 'https://api.example.com', expectStatus: ['2XX'] },
      'expectStatus.0: must be a status code (100-599) or a class such as "2xx"',
    ],
    [{ url: 'https://api.example.com', maxRedirects: 11 }, 'maxRedirects: must be <= 10'],
  ])('refuses %j at enqueue: %s', async (payload, message) => {
    const ns = await Nightshift.connect({
      db: 'sqlite::memory:',
      httpJobs: options,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await expect(ns.untyped.enqueue('http.request', payload)).rejects.toMatchObject({
        code: 'invalid_payload',
        message: expect.stringContaining(message) as unknown,
      });
      expect((await ns.listJobs()).jobs).toEqual([]);
    } finally {
      await ns.close();
    }
  });

  it('stores a valid payload as given: secret names only, no defaults filled in', async () => {
    const ns = await Nightshift.connect({
      db: 'sqlite::memory:',
      httpJobs: options,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const payload = {
        url: 'https://API.example.com/v1/ping',
        method: 'POST',
        headers: { Authorization: { secret: 'billing-token', format: 'Bearer {}' }, 'X-Tenant': 'x' },
        json: { tenant: 'x' },
        expectStatus: ['2xx', 409],
      };
      const { job } = await ns.untyped.enqueue('http.request', payload);
      expect(job.payload).toEqual(payload);
    } finally {
      await ns.close();
    }
  });
});
