import type { DescribedField } from '../integrations/salesforce/client';
import type { FieldKind, WrittenField } from '../integrations/salesforce/written-fields';

/** Describe types a value of each kind can be written to (Salesforce's field types, as the describe names them). */
const COMPATIBLE: Record<FieldKind, ReadonlySet<string>> = {
  text: new Set(['string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'url', 'email', 'phone']),
  number: new Set(['int', 'double', 'currency', 'percent']),
  datetime: new Set(['datetime']),
};

/**
 * What is wrong with the org's fields of one object for what we write: missing fields, incompatible types, fields
 * we cannot write, external ids that are not external ids. Empty when nothing is.
 */
export function fieldProblems(object: string, written: WrittenField[], described: DescribedField[]): string[] {
  const byName = new Map(described.map((f) => [f.name.toLowerCase(), f]));
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const w of written.filter((f) => f.object === object)) {
    const f = byName.get(w.name.toLowerCase());
    if (!f) {
      missing.push(w.name);
      continue;
    }
    if (!COMPATIBLE[w.kind].has(f.type)) wrong.push(`${object}.${w.name} is ${f.type}, we write ${w.kind}`);
    else if (!f.createable || !f.updateable) wrong.push(`${object}.${w.name} is not writable by the run-as user`);
    if (w.externalId && !(f.externalId && f.unique)) {
      wrong.push(`${object}.${w.name} must be an External ID and Unique (we upsert by it)`);
    }
  }
  return [...(missing.length > 0 ? [`${object} lacks ${missing.join(', ')}`] : []), ...wrong];
}
