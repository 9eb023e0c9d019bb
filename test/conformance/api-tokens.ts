/** Conformance: API tokens stored by hash, listed, revoked, expired, and their last use recorded. */
import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { StoreHarness } from '../support/store-harness.js';
import { openFrozen } from './helpers.js';

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** tokenCreate, tokenList, tokenRevoke, tokenFind, tokenTouch and tokenAnyActive tests. */
export function describeApiTokens(h: StoreHarness): void {
  describe('API tokens', () => {
    it('finds a token by its hash until it is revoked', async () => {
      const store = await h.open();
      expect(await store.tokenAnyActive()).toBe(false);
      const id = uuidv7();
      const created = await store.tokenCreate({
        id,
        name: 'ci',
        role: 'operator',
        hash: hashOf('secret-1'),
        expiresInMs: null,
      });
      expect(created).toMatchObject({ id, name: 'ci', role: 'operator', expiresAt: null, revokedAt: null });
      expect(await store.tokenAnyActive()).toBe(true);
      expect(await store.tokenFind({ hash: hashOf('secret-1') })).toMatchObject({
        id,
        hash: hashOf('secret-1'),
      });
      expect(await store.tokenFind({ hash: hashOf('secret-2') })).toBeUndefined();

      expect(await store.tokenRevoke({ id })).toBe(true);
      expect(await store.tokenRevoke({ id })).toBe(false);
      expect(await store.tokenRevoke({ id: uuidv7() })).toBe(false);
      expect(await store.tokenRevoke({ id: 'nope' })).toBe(false);
      expect(await store.tokenFind({ hash: hashOf('secret-1') })).toBeUndefined();
      expect(await store.tokenAnyActive()).toBe(false);
      const [listed] = await store.tokenList();
      expect(listed?.revokedAt).toBeInstanceOf(Date);
    });

    it('refuses two tokens with one hash', async () => {
      const store = await h.open();
      const token = { name: 'a', role: 'viewer' as const, hash: hashOf('same'), expiresInMs: null };
      await store.tokenCreate({ id: uuidv7(), ...token });
      await expect(store.tokenCreate({ id: uuidv7(), ...token })).rejects.toThrow();
      expect(await store.tokenList()).toHaveLength(1);
    });

    it('stops finding a token once it expired (database clock)', async () => {
      const store = await openFrozen(h);
      const id = uuidv7();
      const created = await store.tokenCreate({
        id,
        name: 'short',
        role: 'admin',
        hash: hashOf('s'),
        expiresInMs: 3_600_000,
      });
      expect(created.createdAt.getTime()).toBe((await store.now()).getTime());
      expect(created.expiresAt!.getTime() - created.createdAt.getTime()).toBe(3_600_000);
      await h.advanceClock(store, 3_599_999);
      expect(await store.tokenFind({ hash: hashOf('s') })).toBeDefined();
      expect(await store.tokenAnyActive()).toBe(true);
      await h.advanceClock(store, 1);
      expect(await store.tokenFind({ hash: hashOf('s') })).toBeUndefined();
      expect(await store.tokenAnyActive()).toBe(false);
      expect(await store.tokenList()).toHaveLength(1);
    });

    it('records the last use', async () => {
      const store = await h.open();
      const id = uuidv7();
      await store.tokenCreate({ id, name: 'n', role: 'viewer', hash: hashOf('t'), expiresInMs: null });
      expect((await store.tokenList())[0]?.lastUsedAt).toBeNull();
      const before = await store.now();
      await store.tokenTouch({ id });
      const used = (await store.tokenList())[0]?.lastUsedAt;
      expect(used!.getTime()).toBeGreaterThanOrEqual(before.getTime());
    });
  });
}
