/**
 * What a reader follows from the README and docs/ must lead somewhere: every relative link names a file
 * that exists (and a heading there, for `#anchor`), every section cited by name (`docs/SCALING.md,
 * "Poolers"`) is a heading of that document, and every option a CLI command's --help lists is named in
 * the README's row for that command. Each was found wrong once: a cited section renamed away, an option
 * added to `schedules create` and never documented.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

const DOCS = ['README.md', ...readdirSync('docs').map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith('.md'),
);
const text = (path: string): string => readFileSync(path, 'utf8');

/** A document's headings, as written and as GitHub turns them into anchors. */
function headings(path: string): { titles: string[]; anchors: Set<string> } {
  const titles = [...text(path).matchAll(/^#+\s+(.*)$/gm)].map((m) => (m[1] ?? '').trim());
  const anchors = new Set(
    titles.map((title) =>
      title
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replaceAll(' ', '-'),
    ),
  );
  return { titles, anchors };
}

describe('links and cited sections', () => {
  it.each(DOCS)('%s links only to files and headings that exist', (doc) => {
    const broken: string[] = [];
    for (const [, link = ''] of text(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(link)) continue;
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? doc : join(dirname(doc), path);
      if (!existsSync(target)) broken.push(link);
      else if (anchor !== undefined && target.endsWith('.md') && !headings(target).anchors.has(anchor))
        broken.push(link);
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCS)('%s cites by name only sections that exist', (doc) => {
    const missing: string[] = [];
    // `docs/SCALING.md, "Poolers"`, `ARCHITECTURE.md ("Time"`, `README, "Job states"`.
    for (const [cited, file = '', title = ''] of text(doc).matchAll(
      /(?:docs\/)?\b([A-Z][A-Z-]+(?:\.md)?)[,:]? \(?"([^"\n]+)"/g,
    )) {
      const path =
        file === 'README' || file === 'README.md' ? 'README.md' : `docs/${file.replace(/\.md$/, '')}.md`;
      if (!existsSync(path)) continue;
      if (!headings(path).titles.some((heading) => heading.includes(title))) missing.push(cited);
    }
    expect(missing).toEqual([]);
  });
});

/** Every command that runs something, with its path (`schedules create`). */
function leafCommands(command: Command, path: string[] = []): Array<{ path: string[]; command: Command }> {
  if (command.commands.length === 0) return [{ path, command }];
  return command.commands
    .filter((sub) => sub.name() !== 'help')
    .flatMap((sub) => leafCommands(sub, [...path, sub.name()]));
}

describe("the README's CLI table", () => {
  // Rows of the command table: the first cell names the command (`nightshift queues list`, `pause NAME`).
  const rows = text('README.md')
    .split('\n')
    .filter((line) => line.startsWith('| `nightshift '));
  const COMMON = new Set(['--db', '--config', '--json', '--help']);

  it.each(leafCommands(buildProgram()).map(({ path, command }) => [path.join(' '), command] as const))(
    'names every option of `nightshift %s --help`',
    (name, command) => {
      const [group = '', sub] = name.split(' ');
      // A command may have several rows (`enqueue TASK ...` and `enqueue TASK --from FILE`).
      const named = rows
        .filter((line) => {
          const first = line.split('|')[1] ?? '';
          return (
            first.includes(`nightshift ${name}`) ||
            (sub !== undefined && first.includes(`nightshift ${group} `) && first.includes(`\`${sub} `))
          );
        })
        .join('\n');
      expect(named, `no README row for nightshift ${name}`).not.toBe('');
      const options = command.options.map((option) => option.long ?? '').filter((long) => !COMMON.has(long));
      expect(options.filter((long) => !named.includes(long))).toEqual([]);
    },
  );
});
