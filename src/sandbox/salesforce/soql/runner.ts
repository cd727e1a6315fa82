import { opHolds, type ComparisonOp } from '../../comparison';
import type { RecordStore, StoredRecord } from '../../state';
import { SfFault } from '../errors';
import { fieldValue, getField, isPlainObject, outputName, text } from '../fields';
import { ID_PATTERN } from '../ids';
import type { OrgState } from '../org';
import { findById, recordUrl } from '../records';
import { relationshipOf, sobjectName, type Relationship, type SalesforceSObject } from '../sobjects';
import { malformed } from './lexer';
import { parseSoql, type Condition, type FieldPath, type Literal, type OrderItem } from './parser';

// SOQL execution over the org's records: binding field paths, WHERE, ORDER BY, LIMIT / OFFSET, rendering rows.

export type SoqlResult = { kind: 'count'; totalSize: number } | { kind: 'rows'; rows: Record<string, unknown>[] };

/**
 * Runs a query: `COUNT()`'s total, or every selected row (the caller pages them). `base` (`/services/data/v62.0`)
 * makes the rows' `attributes.url`; `now` is what TODAY and LAST_N_DAYS count from.
 */
export function runSoql(store: RecordStore, org: OrgState, base: string, soql: string, now = Date.now()): SoqlResult {
  const query = parseSoql(soql, now);
  const type = sobjectName(query.from.name);
  if (!type) {
    throw new SfFault(
      400,
      'INVALID_TYPE',
      `\n${soql}\n${' '.repeat(query.from.pos)}^\nERROR at Row:1:Column:${query.from.pos + 1}\nsObject type '${query.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const runner = new QueryRunner(store, org, type, base);
  const selected = query.select === 'count' ? [] : query.select;
  const seen = new Set<string>();
  for (const path of selected) {
    const name = path.text.toLowerCase();
    if (seen.has(name)) throw malformed(soql, path.pos, `duplicate field selected: ${path.text}`);
    seen.add(name);
  }
  for (const path of [...selected, ...pathsOf(query.where), ...query.orderBy.map((o) => o.field)]) runner.bind(path);

  const where = query.where;
  let records = store.list(type).filter((r) => !where || runner.matches(r, where));
  records = runner.sort(records, query.orderBy);
  const offset = query.offset ?? 0;
  records = records.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
  if (query.select === 'count') return { kind: 'count', totalSize: records.length };
  const select = query.select;
  return { kind: 'rows', rows: records.map((r) => runner.render(r, select)) };
}

export interface BoundPath {
  field: string;
  relationship?: Relationship;
}

function bindPath(type: SalesforceSObject, path: FieldPath): BoundPath {
  const [head, field, ...rest] = path.parts;
  if (head !== undefined && field === undefined) return { field: head };
  if (head !== undefined && field !== undefined && rest.length === 0) {
    const relationship = relationshipOf(type, head);
    if (relationship) return { field, relationship };
    if (head.toLowerCase() === type.toLowerCase()) return { field };
  }
  throw new SfFault(
    400,
    'INVALID_FIELD',
    `Didn't understand relationship '${head ?? ''}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

export function pathsOf(condition: Condition | undefined): FieldPath[] {
  if (!condition) return [];
  switch (condition.kind) {
    case 'and':
    case 'or':
      return condition.items.flatMap(pathsOf);
    case 'not':
      return pathsOf(condition.item);
    default:
      return [condition.field];
  }
}

export class QueryRunner {
  private readonly bound = new Map<FieldPath, BoundPath>();

  constructor(
    private readonly store: RecordStore,
    private readonly org: OrgState,
    private readonly type: SalesforceSObject,
    private readonly base: string,
  ) {}

  bind(path: FieldPath): BoundPath {
    let bound = this.bound.get(path);
    if (!bound) {
      bound = bindPath(this.type, path);
      this.bound.set(path, bound);
    }
    return bound;
  }

  parentOf(record: StoredRecord, relationship: Relationship): StoredRecord | undefined {
    const parentId = getField(record.fields, relationship.field);
    return typeof parentId === 'string' && ID_PATTERN.test(parentId)
      ? findById(this.store, this.org, relationship.target, parentId)
      : undefined;
  }

  valueAt(record: StoredRecord, path: FieldPath): unknown {
    const bound = this.bind(path);
    if (!bound.relationship) return fieldValue(record, bound.field);
    const parent = this.parentOf(record, bound.relationship);
    return parent ? fieldValue(parent, bound.field) : null;
  }

  matches(record: StoredRecord, condition: Condition): boolean {
    switch (condition.kind) {
      case 'and':
        return condition.items.every((c) => this.matches(record, c));
      case 'or':
        return condition.items.some((c) => this.matches(record, c));
      case 'not':
        return !this.matches(record, condition.item);
      case 'cmp':
        return compareTo(this.valueAt(record, condition.field), condition.op, condition.value);
      case 'in': {
        const value = this.valueAt(record, condition.field);
        const found = condition.values.some((v) => compareTo(value, '=', v));
        return condition.negated ? !found : found;
      }
      case 'like': {
        const value = this.valueAt(record, condition.field);
        return value !== null && value !== undefined && condition.pattern.test(text(value));
      }
    }
  }

  sort(records: StoredRecord[], orderBy: OrderItem[]): StoredRecord[] {
    if (orderBy.length === 0) return records;
    return [...records].sort((a, b) => {
      for (const item of orderBy) {
        const va = this.valueAt(a, item.field);
        const vb = this.valueAt(b, item.field);
        const aNull = va === null || va === undefined;
        const bNull = vb === null || vb === undefined;
        if (aNull || bNull) {
          if (aNull && bNull) continue;
          // Nulls go first (or last) whatever the direction.
          return (aNull ? -1 : 1) * (item.nullsLast ? -1 : 1);
        }
        const c = sortCompare(va, vb);
        if (c !== 0) return item.desc ? -c : c;
      }
      return 0;
    });
  }

  render(record: StoredRecord, select: FieldPath[]): Record<string, unknown> {
    const row: Record<string, unknown> = {
      attributes: { type: this.type, url: recordUrl(this.base, this.type, record.id) },
    };
    for (const path of select) {
      const bound = this.bind(path);
      if (!bound.relationship) {
        row[outputName(record, bound.field)] = fieldValue(record, bound.field);
        continue;
      }
      const relationship = bound.relationship;
      const parent = this.parentOf(record, relationship);
      if (!parent) {
        row[relationship.name] = null;
        continue;
      }
      const existing = row[relationship.name];
      const nested: Record<string, unknown> = isPlainObject(existing)
        ? existing
        : { attributes: { type: relationship.target, url: recordUrl(this.base, relationship.target, parent.id) } };
      nested[outputName(parent, bound.field)] = fieldValue(parent, bound.field);
      row[relationship.name] = nested;
    }
    return row;
  }
}

function toTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** -1, 0, 1, or undefined when the value cannot be compared with the literal. */
function compareLiteral(value: unknown, literal: Literal): number | undefined {
  if (value === null || value === undefined) return undefined;
  switch (literal.kind) {
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
      return Number.isNaN(n) ? undefined : Math.sign(n - literal.value);
    }
    case 'datetime': {
      const t = toTime(value);
      return t === undefined ? undefined : Math.sign(t - literal.value);
    }
    case 'boolean': {
      const b =
        typeof value === 'boolean' ? value : typeof value === 'string' ? value.toLowerCase() === 'true' : undefined;
      return b === undefined ? undefined : b === literal.value ? 0 : 1;
    }
    case 'string': {
      if (typeof value === 'object') return undefined;
      const a = text(value).toLowerCase();
      const b = literal.value.toLowerCase();
      return a < b ? -1 : a > b ? 1 : 0;
    }
    default:
      return undefined;
  }
}

export function compareTo(value: unknown, op: ComparisonOp, literal: Literal): boolean {
  const isNull = value === null || value === undefined;
  if (literal.kind === 'null') return op === '=' ? isNull : op === '!=' ? !isNull : false;
  if (literal.kind === 'range') {
    const t = toTime(value);
    if (t === undefined) return op === '!=';
    const inside = t >= literal.start && t < literal.end;
    switch (op) {
      case '=':
        return inside;
      case '!=':
        return !inside;
      case '<':
        return t < literal.start;
      case '<=':
        return t < literal.end;
      case '>':
        return t >= literal.end;
      case '>=':
        return t >= literal.start;
    }
  }
  const c = compareLiteral(value, literal);
  // SOQL: `Field != 'x'` also matches records where Field is null.
  if (c === undefined) return op === '!=';
  return opHolds(op, c);
}

function sortCompare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = text(a).toLowerCase();
  const sb = text(b).toLowerCase();
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
