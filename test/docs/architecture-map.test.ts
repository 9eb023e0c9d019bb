/**
 * docs/ARCHITECTURE.md is the map of the code: it must name every module under src/, and every file
 * path it or docs/PERFORMANCE.md names must exist. A module added without a line in the map, or a file
 * renamed under a paragraph that still names it, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage', '.test-build']);

function repoFiles(dir = '.'): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const path = dir === '.' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...repoFiles(path));
    else files.push(path);
  }
  return files;
}

/** Every `code span` of a Markdown text. */
function codeSpans(text: string): Set<string> {
  return new Set([...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? ''));
}

/** A code span that names a file: a relative path ending in a source or document extension. */
function isFilePath(span: string): boolean {
  return /^(\.\.\/)*[\w@-][\w./@-]*\.(ts|tsx|md|sql|mjs|js|json)$/.test(span) && !span.startsWith('node:');
}

const files = repoFiles();
const map = readFileSync('docs/ARCHITECTURE.md', 'utf8');

describe('docs/ARCHITECTURE.md', () => {
  it('names every module under src/', () => {
    const named = codeSpans(map);
    const unnamed = files
      .filter((f) => f.startsWith('src/') && f.endsWith('.ts'))
      .filter((f) => {
        const parts = f.split('/');
        return !parts.some((_, i) => named.has(parts.slice(i).join('/')));
      });
    expect(unnamed).toEqual([]);
  });

  it.each(['docs/ARCHITECTURE.md', 'docs/PERFORMANCE.md'])('%s names only files that exist', (doc) => {
    const missing = [...codeSpans(readFileSync(doc, 'utf8'))]
      .filter(isFilePath)
      .map((span) => span.replace(/^(\.\.\/)+/, ''))
      .filter((path) => !files.some((f) => f === path || f.endsWith(`/${path}`)));
    expect(missing).toEqual([]);
  });
});
