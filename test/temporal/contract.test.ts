import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as contract from '../../src/workflows/messages';

const SRC = path.resolve(__dirname, '../../src');
const CONTRACT = path.join(SRC, 'workflows/messages.ts');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

/** Signal and query names, from their definitions in the contract module. */
const messageNames: string[] = (Object.values(contract) as unknown[]).flatMap((v) => {
  const d = v as { type?: unknown; name?: unknown } | null;
  return typeof d === 'object' &&
    d !== null &&
    (d.type === 'signal' || d.type === 'query') &&
    typeof d.name === 'string'
    ? [d.name]
    : [];
});
const workflowTypes: string[] = Object.values(contract.WorkflowType);

/** String and template literal texts of a file (comments are not literals, so prose may name a workflow). */
function literals(file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the Temporal contract (src/workflows/messages.ts)', () => {
  it('names every workflow type the worker registers, and only those', () => {
    const index = readFileSync(path.join(SRC, 'workflows/index.ts'), 'utf8');
    const exported = [...index.matchAll(/export\s*\{\s*(\w+)\s*\}/g)].map((m) => m[1]);
    expect([...workflowTypes].sort()).toEqual(exported.sort());
  });

  it('defines the signals and queries senders use', () => {
    expect(messageNames).toEqual(
      expect.arrayContaining(['signupReceived', 'creditsRestored', 'enrichmentPaused', 'enrichmentResumed']),
    );
    expect(messageNames).toEqual(expect.arrayContaining(['getStatus', 'getBackfillProgress']));
  });

  it('is the only place in src/ where a workflow type, signal or query name is written as a string', () => {
    const names = [...workflowTypes, ...messageNames];
    const offences = sourceFiles(SRC)
      .filter((f) => f !== CONTRACT)
      .flatMap((file) =>
        literals(file)
          // The name itself, or quoted inside a visibility query (`WorkflowType = 'SignupEnrichmentWorkflow'`).
          .filter(({ text }) => names.some((n) => text === n || text.includes(`'${n}'`) || text.includes(`"${n}"`)))
          .map(({ text, line }) => `${path.relative(SRC, file)}:${line}: ${text}`),
      );
    expect(offences).toEqual([]);
  });
});
