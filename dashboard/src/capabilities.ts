/**
 * What this server's API offers beyond the first release, read once from its OpenAPI document, so a
 * page can offer a filter only where the server would honour it (an unknown query parameter would be
 * silently ignored, and a list that looks filtered but is not misleads).
 */
import { api } from './api.js';

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>;
}

export interface Capabilities {
  /** GET /jobs takes search, createdAfter and createdBefore (and bulk actions the same filter). */
  jobTextAndTimeFilters: boolean;
}

let loading: Promise<Capabilities> | undefined;

export function capabilities(): Promise<Capabilities> {
  loading ??= api<OpenApiDocument>('GET', '/openapi.json').then((document) => {
    const names = (document.paths['/api/v1/jobs']?.['get']?.parameters ?? []).map((p) => p.name);
    return {
      jobTextAndTimeFilters: ['search', 'createdAfter', 'createdBefore'].every((n) => names.includes(n)),
    };
  });
  // A failed load is tried again next time rather than remembered.
  loading.catch(() => (loading = undefined));
  return loading;
}
