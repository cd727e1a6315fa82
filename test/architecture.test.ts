import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The import directions of src/: the domain is pure and depends on nothing of ours outside
 * it, its ports are implemented in integrations/ and wired in src/composition.ts, workflows reach the ledger only
 * through activities, and activity files share helpers through src/activities/support.ts, not through each other.
 * Type-only imports count: they are the dependencies a reader follows.
 */
const src = path.join(__dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module of ours a file imports, as a path below src/ without extension (`activities/support`). */
function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) =>
      path
        .relative(src, path.resolve(path.dirname(file), name))
        .split(path.sep)
        .join('/'),
    );
}

/** `file imports module` for every import of the files below `folder` that `forbidden` matches. */
function violations(folder: string, forbidden: (module: string, file: string) => boolean): string[] {
  return sourceFiles(path.join(src, folder)).flatMap((file) =>
    localImports(file)
      .filter((module) => forbidden(module, file))
      .map((module) => `${path.relative(src, file)} imports ${module}`),
  );
}

const isUnder = (module: string, folder: string) => module === folder || module.startsWith(`${folder}/`);

describe('import directions', () => {
  it('finds the imports it checks', () => {
    // A parser that found nothing would pass every rule below.
    expect(localImports(path.join(src, 'worker.ts'))).toContain('composition');
    expect(localImports(path.join(src, 'activities', 'writes.ts'))).toContain('activities/support');
  });

  it('integrations/ imports nothing from activities/ nor the configuration', () => {
    expect(violations('integrations', (m) => isUnder(m, 'activities') || m === 'config')).toEqual([]);
  });

  it('workflows/ imports nothing from ledger/', () => {
    expect(violations('workflows', (m) => isUnder(m, 'ledger'))).toEqual([]);
  });

  it('domain/ imports nothing of ours outside domain/', () => {
    expect(violations('domain', (m) => !isUnder(m, 'domain'))).toEqual([]);
  });

  it('activity files import no other activity file but the shared helpers', () => {
    const helpers = 'activities/support';
    expect(
      violations(
        'activities',
        (m, file) => path.basename(file) !== 'index.ts' && isUnder(m, 'activities') && m !== helpers,
      ),
    ).toEqual([]);
  });
});
