import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { ENV_SECTIONS } from '../config';
import { runMain } from '../process';
import { PROJECT_ROOT } from './paths';

/**
 * Writes `.env.example` and the variables table of docs/configuration.md from the schema in src/config/variables.ts, so that
 * neither drifts from what the code reads (`npm run config:docs`; test/config-docs.test.ts fails while either is
 * stale).
 */

export const ENV_EXAMPLE_FILE = path.join(PROJECT_ROOT, '.env.example');
export const CONFIGURATION_DOC_FILE = path.join(PROJECT_ROOT, 'docs', 'configuration.md');
const START_MARKER = '<!-- generated:env:start -->';
const END_MARKER = '<!-- generated:env:end -->';

interface DocumentedVariable {
  name: string;
  /** The value `.env.example` sets: the default as the environment spells it, empty when there is none. */
  value: string;
  description: string;
}

interface DocumentedSection {
  title: string;
  note: string | undefined;
  variables: DocumentedVariable[];
}

/**
 * Variables the tooling reads, not the pipeline: they have no place in the config schema, but a reader of
 * `.env.example` looks for them there.
 */
const TOOLING: DocumentedSection = {
  title: 'Tooling (`npm start` / `npm test`)',
  note: 'Where to find the Temporal binaries, PostgreSQL and promtool, when not in the default places.',
  variables: [
    {
      name: 'TEMPORAL_CLI_PATH',
      value: '',
      description: 'The Temporal CLI; else `temporal` on PATH, then `.tools/bin/temporal`',
    },
    {
      name: 'TEMPORAL_TEST_SERVER_PATH',
      value: '',
      description: 'The time-skipping test server; else `temporal-test-server` on PATH, then `.tools/bin/`',
    },
    {
      name: 'PG_BIN',
      value: '',
      description: "The folder of PostgreSQL's server binaries (`initdb`, `pg_ctl`) for the real-database tests",
    },
    {
      name: 'PROMTOOL_PATH',
      value: '',
      description:
        "Prometheus's `promtool` for the alert rules test; else `.tools/prometheus/usr/bin/promtool` (unpacked from Debian's `prometheus` package by setup), then `promtool` on PATH",
    },
    {
      name: 'TEST_DATABASE_URL',
      value: '',
      description: '`npm test`: use this PostgreSQL for the real-database tests instead of starting a throwaway one',
    },
  ],
};

/** The default a variable's schema applies when it is unset, as the environment would spell it. */
function defaultOf(schema: z.core.$ZodType): string | undefined {
  if (schema instanceof z.ZodDefault) {
    const value: unknown = schema.def.defaultValue;
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (schema instanceof z.ZodPipe) return defaultOf(schema.in) ?? defaultOf(schema.out);
  return undefined;
}

/** The sections of src/config/variables.ts, then the tooling's; a variable without a description stops the generator. */
export function documentedSections(): DocumentedSection[] {
  const fromSchema = ENV_SECTIONS.map(({ title, note, variables }) => ({
    title,
    note,
    variables: Object.entries(variables.shape).map(([name, schema]: [string, z.core.$ZodType]) => {
      const description = z.globalRegistry.get(schema)?.description;
      if (!description) throw new Error(`${name} has no description: add .describe() to it in src/config/variables.ts`);
      return { name, value: defaultOf(schema) ?? '', description };
    }),
  }));
  return [...fromSchema, TOOLING];
}

/** `# `-prefixed comment lines of at most 120 columns. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/)) {
    if (line.length > 1 && line.length + 1 + word.length > 120) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

/** Quoted when a shell sourcing the file would split or redirect it (`set -a; . ./.env`). */
function shellValue(value: string): string {
  if (/^[\w.,:/@+=-]*$/.test(value)) return value;
  if (value.includes("'")) throw new Error(`a default with a single quote cannot be written to .env.example: ${value}`);
  return `'${value}'`;
}

export function renderEnvExample(sections = documentedSections()): string {
  const lines = [
    '# Signup enrichment pipeline: every variable it and its tooling read, with its default.',
    '# `npm start` needs none of them. Copy to .env and export (e.g. `set -a; . ./.env; set +a`) to override.',
    '# Written by `npm run config:docs` from src/config/variables.ts: change a description or default there, not here.',
  ];
  for (const section of sections) {
    lines.push('', `# --- ${section.title} ---`);
    if (section.note) lines.push(...comment(section.note), '#');
    for (const variable of section.variables) {
      lines.push(...comment(variable.description), `${variable.name}=${shellValue(variable.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** docs/configuration.md with the part between the markers written anew, formatted as `prettier --check` wants. */
export async function renderConfigurationDoc(current: string, sections = documentedSections()): Promise<string> {
  const start = current.indexOf(START_MARKER);
  const end = current.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md needs ${START_MARKER} and ${END_MARKER}`);
  const generated = [
    START_MARKER,
    '<!-- Written by `npm run config:docs` from src/config/variables.ts: change a description or default there, not here. -->',
  ];
  for (const section of sections) {
    generated.push('', `### ${section.title}`, '');
    if (section.note) generated.push(section.note, '');
    generated.push('| variable | default | what it does |', '| --- | --- | --- |');
    for (const v of section.variables) {
      generated.push(`| \`${v.name}\` | ${v.value === '' ? '' : `\`${cell(v.value)}\``} | ${cell(v.description)} |`);
    }
  }
  generated.push('', END_MARKER);
  const text = current.slice(0, start) + generated.join('\n') + current.slice(end + END_MARKER.length);
  const options = await resolveConfig(CONFIGURATION_DOC_FILE);
  return format(text, { ...options, filepath: CONFIGURATION_DOC_FILE });
}

async function main(): Promise<void> {
  const sections = documentedSections();
  writeFileSync(ENV_EXAMPLE_FILE, renderEnvExample(sections));
  const doc = await renderConfigurationDoc(readFileSync(CONFIGURATION_DOC_FILE, 'utf8'), sections);
  writeFileSync(CONFIGURATION_DOC_FILE, doc);
  console.log(`[config:docs] wrote ${path.relative(PROJECT_ROOT, ENV_EXAMPLE_FILE)} and docs/configuration.md`);
}

if (require.main === module) runMain(main);
