/** Job ids: valid UUIDv7, and strictly increasing in the order they were made. */
import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { newJobId } from '../../src/job-id.js';

describe('newJobId', () => {
  it('makes valid version-7 ids that sort in the order they were made, across draws of random bytes', () => {
    // Several draws of the random pool, most ids within the same millisecond as their neighbours.
    const ids = Array.from({ length: 5_000 }, () => newJobId());
    for (const id of ids) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the time of each id in its first 48 bits', () => {
    const before = Date.now();
    const id = newJobId();
    const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    // Within the millisecond it was made, or slightly after one whose sequence wrapped.
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});
