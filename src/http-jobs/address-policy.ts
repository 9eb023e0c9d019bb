/**
 * Which IP addresses an HTTP job may connect to. Only global unicast addresses are allowed by default:
 * every special-purpose range (private, loopback, link-local, unique-local, CGNAT, multicast,
 * documentation, reserved, ...) and the cloud metadata endpoints are refused, so a job cannot reach
 * the internal network of the host that runs it. `allowPrivateNetworks` opens them: `true` opens every
 * range except the metadata endpoints, a list of CIDRs opens exactly those (metadata included when
 * listed).
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) are judged by the IPv4 address inside, so `::ffff:127.0.0.1` is loopback.
 */
import { BlockList, isIP } from 'node:net';
import { NightshiftError } from '../errors.js';

type Family = 'ipv4' | 'ipv6';

/** Special-purpose ranges (IANA registries), each with the word a refusal uses. */
const REFUSED_RANGES: ReadonlyArray<readonly [cidr: string, label: string]> = [
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'protocol-assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'zero (unspecified)'],
  ['::1/128', 'loopback'],
  ['::/96', 'deprecated IPv4-compatible'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001::/23', 'protocol-assignment'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment-routing (SRv6)'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
];

/**
 * Instance metadata endpoints (AWS, GCP, Azure, Oracle: 169.254.169.254; AWS IPv6; AWS ECS task
 * metadata; Alibaba; Azure's wire server). Refused even with `allowPrivateNetworks: true`.
 */
const METADATA_ADDRESSES = [
  '169.254.169.254',
  'fd00:ec2::254',
  '169.254.170.2',
  '100.100.100.200',
  '168.63.129.16',
  '192.0.0.192',
];

const REFUSED: ReadonlyArray<{ list: BlockList; label: string }> = REFUSED_RANGES.map(([cidr, label]) => ({
  list: blockListOf([cidr]),
  label,
}));
const METADATA = blockListOf(METADATA_ADDRESSES);

/** The address policy an `httpJobs` config describes. */
export class AddressPolicy {
  private readonly allowAll: boolean;
  private readonly allowed: BlockList;

  /** `allowPrivateNetworks` as configured; bad CIDRs are refused with `config_error`. */
  constructor(allowPrivateNetworks: boolean | readonly string[] = false) {
    this.allowAll = allowPrivateNetworks === true;
    this.allowed = blockListOf(Array.isArray(allowPrivateNetworks) ? allowPrivateNetworks : []);
  }

  /** Why `address` (an IP literal) may not be connected to, or null when it may. */
  refusal(address: string): string | null {
    const parsed = parseAddress(address);
    if (parsed === null) return `"${address}" is not an IP address`;
    const { ip, family, embedded } = parsed;
    const judged = embedded ?? { ip, family };
    const label = labelOf(judged.ip, judged.family);
    if (label === null) return null;
    if (this.allowed.check(ip, family) || (embedded && this.allowed.check(embedded.ip, 'ipv4'))) return null;
    if (this.allowAll && label !== 'cloud metadata') return null;
    const form = embedded ? ` (${embedded.form} ${embedded.ip})` : '';
    return `${address}${form} is a ${label} address`;
  }
}

function labelOf(ip: string, family: Family): string | null {
  if (METADATA.check(ip, family)) return 'cloud metadata';
  for (const { list, label } of REFUSED) if (list.check(ip, family)) return label;
  return null;
}

interface ParsedAddress {
  ip: string;
  family: Family;
  /** The IPv4 address an IPv6 address carries, and in which form. */
  embedded?: { ip: string; family: 'ipv4'; form: string };
}

function parseAddress(address: string): ParsedAddress | null {
  // A zone (fe80::1%eth0) names an interface, not another address.
  const ip = address.replace(/%.*$/, '');
  const version = isIP(ip);
  if (version === 4) return { ip, family: 'ipv4' };
  if (version !== 6) return null;
  const bytes = ipv6Bytes(ip);
  const embedded = embeddedIpv4(bytes);
  return embedded ? { ip, family: 'ipv6', embedded } : { ip, family: 'ipv6' };
}

function embeddedIpv4(bytes: Uint8Array): ParsedAddress['embedded'] {
  const word = (i: number): number => ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  const v4 = (offset: number): string => Array.from(bytes.subarray(offset, offset + 4)).join('.');
  const zeros = (from: number, to: number): boolean => bytes.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 10) && word(10) === 0xffff) return { ip: v4(12), family: 'ipv4', form: 'IPv4-mapped' };
  if (word(0) === 0x64 && word(2) === 0xff9b && zeros(4, 12)) {
    return { ip: v4(12), family: 'ipv4', form: 'NAT64' };
  }
  if (word(0) === 0x2002) return { ip: v4(2), family: 'ipv4', form: '6to4' };
  return undefined;
}

/** The 16 bytes of a valid IPv6 literal (checked by `isIP` first), dotted IPv4 tail included. */
function ipv6Bytes(ip: string): Uint8Array {
  let text = ip;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, -dotted[1].length) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const words = (part: string): number[] => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const left = words(head);
  const right = rest === undefined ? [] : words(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (tail.length > 0) all.splice(6, 2, ...tail);
  const bytes = new Uint8Array(16);
  all.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** A BlockList of addresses and CIDRs; anything else is a `config_error`. */
function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const version = isIP(address);
    const bits = prefix === undefined ? (version === 6 ? 128 : 32) : Number(prefix);
    if (
      version === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) ||
      bits > (version === 6 ? 128 : 32)
    ) {
      throw new NightshiftError(
        'config_error',
        `httpJobs.allowPrivateNetworks: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`,
      );
    }
    list.addSubnet(address, bits, version === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}
