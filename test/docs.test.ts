import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README is the entry point and docs/ the reference: every relative link between them must land on a file of
 * the repository and, with a `#fragment`, on a heading of that file (GitHub's anchor rules). A link leaving the
 * repository (`../shared/...`) is broken for anyone who clones it alone.
 */
const root = path.join(__dirname, '..');
const docsDir = path.join(root, 'docs');
const documents = [
  path.join(root, 'README.md'),
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(docsDir, f)),
];

/** The text outside fenced code blocks, line by line (links and headings in code are not links or headings). */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence === undefined) lines.push(line);
  }
  return lines;
}

/** GitHub's heading anchor: the rendered text, lower-cased, punctuation dropped, spaces as hyphens; repeats get -1, -2. */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/`([^`]*)`/g, '$1') // inline code: its content
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/(\*\*|__|\*)(?=\S)([^*]*?\S)\1/g, '$2'); // emphasis markers
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Inline links `[text](target)` and reference definitions `[id]: target`, outside code. */
function linksOf(markdown: string): string[] {
  const links: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)) links.push(m[1]!);
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/.exec(prose);
    if (def) links.push(def[1]!);
  }
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('README and docs/ links', () => {
  it('finds the documents and their links', () => {
    expect(documents.map((d) => path.relative(root, d))).toEqual(
      expect.arrayContaining(['README.md', 'docs/runbook.md']),
    );
    expect(linksOf(readFileSync(path.join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(5);
  });

  it.each(documents.map((d) => [path.relative(root, d), d]))(
    '%s: every relative link names a file of the repository and an existing heading',
    (_name, document) => {
      const problems: string[] = [];
      for (const target of linksOf(readFileSync(document, 'utf8'))) {
        if (isExternal(target)) continue;
        const [rawPath, fragment] = target.split('#', 2) as [string, string | undefined];
        const file = rawPath === '' ? document : path.resolve(path.dirname(document), decodeURIComponent(rawPath));
        const inside = path.relative(root, file);
        if (inside.startsWith('..') || path.isAbsolute(inside)) {
          problems.push(`${target}: outside the repository`);
          continue;
        }
        if (!existsSync(file)) {
          problems.push(`${target}: no such file`);
          continue;
        }
        if (fragment === undefined || fragment === '') continue;
        if (!file.endsWith('.md') || statSync(file).isDirectory()) {
          problems.push(`${target}: an anchor into a file that is not markdown`);
          continue;
        }
        const anchors = anchorsOf(readFileSync(file, 'utf8'));
        if (!anchors.has(decodeURIComponent(fragment))) {
          problems.push(`${target}: no heading #${fragment} (has ${[...anchors].join(', ')})`);
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('the README stays an entry point: at most 200 lines', () => {
    expect(readFileSync(path.join(root, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(200);
  });
});

describe('GitHub anchors', () => {
  it('follow GitHub slug rules', () => {
    expect(githubSlug('`POST /webhooks/posthog`')).toBe('post-webhooksposthog');
    expect(githubSlug('`npm start` says port 7233 is in use')).toBe('npm-start-says-port-7233-is-in-use');
    expect(githubSlug("1. Confirm it's real")).toBe('1-confirm-its-real');
    expect(githubSlug('Fan-out > Salesforce')).toBe('fan-out--salesforce');
    expect(githubSlug('ICP fields and score')).toBe('icp-fields-and-score');
    expect([...anchorsOf('# A\n## A\n```\n# B\n```\n## A')]).toEqual(['a', 'a-1', 'a-2']);
  });

  it('finds links outside code only', () => {
    expect(linksOf('[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n[d]: w.md#h\n[e](<v.md> "t")')).toEqual([
      'x.md',
      'w.md#h',
      'v.md',
    ]);
  });
});
