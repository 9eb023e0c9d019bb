/**
 * Notification payloads as the server formats them: a store drops its own messages before parsing
 * them (the prefix check relies on json_build_object's spacing, so it is checked on the server's real
 * output) and decodes every other store's.
 */
import { describe, expect, it } from 'vitest';
import { decodeNotification } from '../../src/store/postgres/listener.js';
import type { StoreEvents } from '../../src/store/store.js';
import { withAdmin } from '../support/postgres-harness.js';

const OURS = '5f0c1a52-8a3b-4f7e-9d55-2c1f8e7b6a90';
const THEIRS = '0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a';

/** A completion message as `jobFinishManyComplete` sends it, from `origin`, listing `ids`. */
async function completionPayload(origin: string, ids: string[]): Promise<string> {
  const { rows } = await withAdmin((client) =>
    client.query<{ payload: string }>(
      `SELECT json_build_object('o', $1::text, 'c', json_agg(id))::text AS payload FROM unnest($2::uuid[]) AS id`,
      [origin, ids],
    ),
  );
  return rows[0]?.payload ?? '';
}

function decode(payload: string): Array<[keyof StoreEvents, unknown]> {
  const events: Array<[keyof StoreEvents, unknown]> = [];
  decodeNotification(payload, OURS, (event, detail) => events.push([event, detail]));
  return events;
}

describe('decodeNotification', () => {
  const ids = ['0193a0b1-0000-7000-8000-000000000001', '0193a0b1-0000-7000-8000-000000000002'];

  it('drops a message of its own store', async () => {
    const payload = await completionPayload(OURS, ids);
    expect(payload.startsWith(`{"o" : "${OURS}"`)).toBe(true);
    expect(decode(payload)).toEqual([]);
  });

  it('turns completions of another store into finished events', async () => {
    expect(decode(await completionPayload(THEIRS, ids))).toEqual(
      ids.map((id) => ['job:finished', { id, state: 'completed' }]),
    );
  });

  it('does not take an origin that only starts like its own for its own', async () => {
    const payload = await completionPayload(`${OURS}-other`, ids);
    expect(decode(payload)).toEqual(ids.map((id) => ['job:finished', { id, state: 'completed' }]));
  });

  it('turns cancel requests of another store into cancel_requested events', () => {
    const payload = JSON.stringify({ o: THEIRS, x: ids });
    expect(decode(payload)).toEqual(ids.map((id) => ['job:cancel_requested', { id }]));
  });
});
