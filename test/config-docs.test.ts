import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import {
  CONFIGURATION_DOC_FILE,
  documentedSections,
  ENV_EXAMPLE_FILE,
  renderConfigurationDoc,
  renderEnvExample,
} from '../src/tools/config-docs';

const root = path.join(__dirname, '..');
const STALE = 'stale against the schema in src/config/variables.ts: run `npm run config:docs`';

/** The environment's own variables, which no document of ours needs to explain. */
const SYSTEM_VARIABLES = new Set(['PATH']);

/** Names read from the environment in src/: `process.env.X`, `env.X`, and the tooling's `envVar: 'X'`. */
function variablesReadInSrc(): Map<string, string> {
  const read = new Map<string, string>();
  const src = path.join(root, 'src');
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(src, file), 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b|\benvVar: '([A-Z][A-Z0-9_]*)'/g)) {
      const name = m[1] ?? m[2]!;
      if (!SYSTEM_VARIABLES.has(name)) read.set(name, `src/${file}`);
    }
  }
  return read;
}

/** .env.example, README.md, docs/ and the folder READMEs under src/. */
function documentation(): string {
  const docs = path.join(root, 'docs');
  const src = path.join(root, 'src');
  return [
    ENV_EXAMPLE_FILE,
    path.join(root, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => path.join(docs, f)),
    ...readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => path.basename(f) === 'README.md')
      .map((f) => path.join(src, f)),
  ]
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
}

describe('configuration docs', () => {
  it('.env.example is the one the schema writes', () => {
    expect(readFileSync(ENV_EXAMPLE_FILE, 'utf8'), `.env.example is ${STALE}`).toBe(renderEnvExample());
  });

  it("docs/configuration.md's variables table is the one the schema writes", async () => {
    const current = readFileSync(CONFIGURATION_DOC_FILE, 'utf8');
    expect(current, `docs/configuration.md is ${STALE}`).toBe(await renderConfigurationDoc(current));
  });

  it('shows each default as the value that configures the same as leaving the variable unset', () => {
    const unset = loadConfig({});
    const shown = documentedSections()
      .flatMap((s) => s.variables)
      .filter((v) => v.value !== '');
    expect(shown.length).toBeGreaterThan(40);
    for (const { name, value } of shown) {
      expect(loadConfig({ [name]: value }), `${name}=${value}`).toEqual(unset);
    }
  });

  it('documents every variable src/ reads from the environment', () => {
    const read = variablesReadInSrc();
    // The scan itself works: variables of the tooling and of the sandbox run alone.
    expect([...read.keys()]).toEqual(
      expect.arrayContaining(['TEST_DATABASE_URL', 'TEMPORAL_CLI_PATH', 'SANDBOX_SEED']),
    );
    const docs = documentation();
    const undocumented = [...read].filter(([name]) => !new RegExp(`\\b${name}\\b`).test(docs));
    expect(undocumented.map(([name, file]) => `${name} (${file})`)).toEqual([]);
  });
});
