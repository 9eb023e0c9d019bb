/** Conformance: migrations (idempotent, safe when raced) and refusing a newer schema. */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import type { StoreHarness } from '../support/store-harness.js';

/** Schema tests. */
export function describeSchema(h: StoreHarness): void {
  describe('migrate / schemaVersion / schemaCheck', () => {
    it('migrates an empty database to the latest version, and a second run is a no-op', async () => {
      const store = await h.openEmpty();
      const { latest } = await store.schemaVersion();
      expect(latest).toBeGreaterThanOrEqual(1);
      expect((await store.schemaVersion()).current).toBe(0);
      expect(await store.migrate()).toEqual({ from: 0, to: latest });
      expect(await store.migrate()).toEqual({ from: latest, to: latest });
      expect(await store.schemaVersion()).toEqual({ current: latest, latest });
      await expect(store.schemaCheck()).resolves.toBeUndefined();
    });

    it('applies each migration once when several stores migrate one empty database at once', async () => {
      const store = await h.openEmpty();
      const peers = [store, await h.openPeer(store), await h.openPeer(store), await h.openPeer(store)];
      const results = await Promise.all(peers.map((s) => s.migrate()));
      const { latest } = await store.schemaVersion();
      for (const result of results) expect(result.to).toBe(latest);
      expect(await store.schemaVersion()).toEqual({ current: latest, latest });
      expect(await store.jobList({ limit: 1 })).toEqual({ jobs: [], nextCursor: null });
    });

    it('refuses a database migrated by a newer nightshift, naming both versions', async () => {
      const store = await h.open();
      const { latest } = await store.schemaVersion();
      await h.setSchemaVersion(store, latest + 1);
      for (const call of [() => store.schemaCheck(), () => store.migrate()]) {
        const error: unknown = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(NightshiftError);
        expect((error as NightshiftError).code).toBe('schema_too_new');
        expect((error as NightshiftError).message).toContain(String(latest + 1));
        expect((error as NightshiftError).message).toContain(String(latest));
      }
    });
  });
}
