/**
 * Every /api/v1 URL with a query that README.md and docs/*.md show as code works as written, on both
 * backends: docs/TENANCY.md showed `GET /api/v1/limits/keys?running=true&after=&limit=`, which is a 400
 * (an empty `limit` is refused, not taken as absent). URLs with a placeholder (`:id`, `[...]`) are
 * templates, not URLs, and are left out.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const DOCUMENTS = [
  'README.md',
  ...readdirSync('docs').flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
];

/** The code spans `GET /api/v1/...?...` (or the path alone) of the documents, by document. */
function shownUrls(): Array<{ document: string; url: string }> {
  return DOCUMENTS.flatMap((document) =>
    [...readFileSync(document, 'utf8').matchAll(/`(?:GET )?(\/api\/v1\/[^`\s:[\]]*\?[^`\s[\]]*)`/g)].map(
      (match) => ({ document, url: match[1] ?? '' }),
    ),
  );
}

describe.each(BACKENDS)('query URLs the docs show, on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('answers each as written', async () => {
    const urls = shownUrls();
    expect(urls.map((u) => u.document)).toEqual(expect.arrayContaining(['README.md', 'docs/TENANCY.md']));
    for (const { document, url } of urls) {
      const response = await s.request('GET', url, { token: s.tokens.viewer });
      expect({ document, url, status: response.status, error: response.body?.error }).toEqual({
        document,
        url,
        status: 200,
        error: undefined,
      });
    }
  });
});
