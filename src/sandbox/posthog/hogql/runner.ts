import { opHolds } from '../../comparison';
import type { RecordStore } from '../../state';
import { formatDateTime, parseDateTime } from '../datetime';
import { isObject, type Json } from '../events';
import { unsupported, QueryError } from './lexer';
import { parseHogql, type HogqlExpr, type HogqlSelect } from './parser';

// HogQL subset: values, evaluation, grouping and ordering over the project's events and groups.

const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 50_000;

class DateTimeValue {
  constructor(readonly ms: number) {}
}
class DayValue {
  constructor(readonly day: string) {}
}
type Value = string | number | boolean | null | DateTimeValue | DayValue | Json;

const TABLES: Record<HogqlSelect['from'], Record<string, string>> = {
  events: {
    uuid: 'UUID',
    event: 'String',
    distinct_id: 'String',
    timestamp: "DateTime64(6, 'UTC')",
    properties: 'String',
    // Not a column of its own: `person.properties.<name>` (HogQL's join of the event's person), see `resolve`.
    person: 'String',
  },
  groups: { index: 'UInt8', key: 'String', created_at: "DateTime64(6, 'UTC')", properties: 'String' },
  one: { dummy: 'UInt8' },
};

type Row = Record<string, Value>;

function eventRows(store: RecordStore): Row[] {
  return store.list('event').map((r) => {
    // The person's current properties: what PostHog answers for `person.properties` unless persons-on-events is on.
    const person = store.get('person', String(r.fields.distinct_id));
    return {
      uuid: String(r.fields.uuid),
      event: String(r.fields.event),
      distinct_id: String(r.fields.distinct_id),
      timestamp: new DateTimeValue(Date.parse(String(r.fields.timestamp))),
      properties: isObject(r.fields.properties) ? r.fields.properties : {},
      person: { properties: isObject(person?.fields.properties) ? person.fields.properties : {} },
    };
  });
}

function groupRows(store: RecordStore): Row[] {
  return store.list('group').map((r) => ({
    index: Number(r.fields.group_type_index),
    key: String(r.fields.group_key),
    created_at: new DateTimeValue(Date.parse(String(r.fields.created_at))),
    properties: isObject(r.fields.properties) ? r.fields.properties : {},
  }));
}

/** A property as HogQL reads it: a String (numbers and booleans as text, objects as JSON), null when missing. */
function propertyValue(value: unknown): Value {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function toMs(v: Value): number {
  if (v instanceof DateTimeValue) return v.ms;
  if (v instanceof DayValue) return Date.parse(`${v.day}T00:00:00Z`);
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    const ms = parseDateTime(v);
    if (ms === undefined) throw new QueryError(`Cannot parse DateTime from String: '${v}'`);
    return ms;
  }
  throw new QueryError('a value of this type cannot be read as a DateTime');
}

function toDay(v: Value): string {
  return new Date(toMs(v)).toISOString().slice(0, 10);
}

function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

/** Compares two values the way ClickHouse converts them; null when either is NULL (no match). */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (a instanceof DateTimeValue || b instanceof DateTimeValue) return Math.sign(toMs(a) - toMs(b));
  if (a instanceof DayValue || b instanceof DayValue) {
    const [x, y] = [toDay(a), toDay(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const num = (v: Value) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  const [x, y] = [num(a), num(b)];
  if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'string' && typeof y === 'number')
    return x.trim() && isFinite(Number(x)) ? Math.sign(Number(x) - y) : null;
  if (typeof x === 'number' && typeof y === 'string')
    return y.trim() && isFinite(Number(y)) ? Math.sign(x - Number(y)) : null;
  return null;
}

interface EvalContext {
  row: Row;
  /** The rows of the group, in aggregated queries. */
  group?: Row[];
}

function evaluate(e: HogqlExpr, ctx: EvalContext): Value {
  switch (e.t) {
    case 'const':
      return e.value;
    case 'field': {
      const [head, ...rest] = e.chain;
      let value: Value = ctx.row[head!] ?? null;
      if (rest.length === 0) return head === 'properties' ? JSON.stringify(value) : value;
      let cursor: unknown = value;
      for (const part of rest) cursor = isObject(cursor) ? cursor[part] : undefined;
      value = propertyValue(cursor);
      return value;
    }
    case 'call': {
      if (e.name === 'count') return ctx.group ? ctx.group.length : 1;
      const v = evaluate(e.args[0]!, ctx);
      if (e.name === 'isNull') return v === null;
      if (e.name === 'isNotNull') return v !== null;
      if (v === null) return null;
      if (e.name === 'toDate') return new DayValue(toDay(v));
      return new DateTimeValue(toMs(v));
    }
    case 'compare': {
      const c = compare(evaluate(e.left, ctx), evaluate(e.right, ctx));
      return c === null ? null : opHolds(e.op, c);
    }
    case 'in': {
      const v = evaluate(e.left, ctx);
      if (v === null) return e.negated ? null : false;
      const found = e.list.some((item) => compare(v, evaluate(item, ctx)) === 0);
      return e.negated ? !found : found;
    }
    case 'and':
      return e.args.every((a) => truthy(evaluate(a, ctx)));
    case 'or':
      return e.args.some((a) => truthy(evaluate(a, ctx)));
    case 'not':
      return !truthy(evaluate(e.arg, ctx));
  }
}

function outputValue(v: Value): unknown {
  if (v instanceof DateTimeValue) return formatDateTime(v.ms);
  if (v instanceof DayValue) return v.day;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

function serializeKey(v: Value): string {
  if (v instanceof DateTimeValue) return `t${v.ms}`;
  if (v instanceof DayValue) return `d${v.day}`;
  return JSON.stringify(v);
}

function typeOf(e: HogqlExpr, table: HogqlSelect['from']): string {
  switch (e.t) {
    case 'field':
      return e.chain.length > 1 ? 'Nullable(String)' : (TABLES[table][e.chain[0]!] ?? 'String');
    case 'const':
      return e.value === null
        ? 'Nullable(Nothing)'
        : typeof e.value === 'string'
          ? 'String'
          : typeof e.value === 'boolean'
            ? 'Bool'
            : Number.isInteger(e.value)
              ? 'Int64'
              : 'Float64';
    case 'call':
      return { count: 'UInt64', toDate: 'Date', toDateTime: "DateTime('UTC')", isNull: 'UInt8', isNotNull: 'UInt8' }[
        e.name
      ];
    default:
      return 'UInt8';
  }
}

function printExpr(e: HogqlExpr): string {
  switch (e.t) {
    case 'field':
      return e.chain.join('.');
    case 'const':
      return typeof e.value === 'string' ? `'${e.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(e.value);
    case 'call':
      return `${e.name}(${e.args.map(printExpr).join(', ')})`;
    case 'compare':
      return `${printExpr(e.left)} ${e.op} ${printExpr(e.right)}`;
    case 'in':
      return `${printExpr(e.left)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map(printExpr).join(', ')})`;
    case 'and':
    case 'or':
      return e.args.map(printExpr).join(` ${e.t.toUpperCase()} `);
    case 'not':
      return `NOT ${printExpr(e.arg)}`;
  }
}

/** A column's name in the response: its alias, else the field's last part, else the expression's text. */
function columnName(item: HogqlSelect['select'][number]): string {
  if (item.alias) return item.alias;
  if (item.expr.t === 'field') return item.expr.chain[item.expr.chain.length - 1]!;
  return printExpr(item.expr);
}

/** The expressions directly inside `e`. */
function childrenOf(e: HogqlExpr): HogqlExpr[] {
  switch (e.t) {
    case 'call':
      return e.args;
    case 'compare':
      return [e.left, e.right];
    case 'in':
      return [e.left, ...e.list];
    case 'and':
    case 'or':
      return e.args;
    case 'not':
      return [e.arg];
    default:
      return [];
  }
}

/** Whether `e` or any expression inside it is one `found` picks out. */
function anyNode(e: HogqlExpr, found: (node: HogqlExpr) => boolean): boolean {
  return found(e) || childrenOf(e).some((child) => anyNode(child, found));
}

const hasAggregate = (e: HogqlExpr) => anyNode(e, (node) => node.t === 'call' && node.name === 'count');
const hasField = (e: HogqlExpr) => anyNode(e, (node) => node.t === 'field');

/** Evaluates the constant parts of an expression once, so that `toDateTime('nonsense')` fails with no rows too. */
function checkConstants(e: HogqlExpr): void {
  if (!hasField(e) && !hasAggregate(e)) {
    evaluate(e, { row: {} });
    return;
  }
  childrenOf(e).forEach(checkConstants);
}

/** Replaces references to select aliases by the aliased expressions, and checks every column exists. */
function resolve(
  e: HogqlExpr,
  aliases: Map<string, HogqlExpr>,
  table: HogqlSelect['from'],
  resolving: Set<string> = new Set(),
): HogqlExpr {
  switch (e.t) {
    case 'field': {
      const [head] = e.chain;
      const aliased = e.chain.length === 1 ? aliases.get(head!) : undefined;
      if (aliased && !resolving.has(head!)) return resolve(aliased, aliases, table, new Set([...resolving, head!]));
      if (!(head! in TABLES[table])) throw unsupported(`unknown column ${e.chain.join('.')} in ${table}`);
      if (head === 'person' ? e.chain[1] !== 'properties' : head !== 'properties' && e.chain.length > 1)
        throw unsupported(`${e.chain.join('.')}`);
      return e;
    }
    case 'const':
      return e;
    case 'call':
      return { ...e, args: e.args.map((a) => resolve(a, aliases, table, resolving)) };
    case 'compare':
      return {
        ...e,
        left: resolve(e.left, aliases, table, resolving),
        right: resolve(e.right, aliases, table, resolving),
      };
    case 'in':
      return {
        ...e,
        left: resolve(e.left, aliases, table, resolving),
        list: e.list.map((a) => resolve(a, aliases, table, resolving)),
      };
    case 'and':
    case 'or':
      return { ...e, args: e.args.map((a) => resolve(a, aliases, table, resolving)) };
    case 'not':
      return { ...e, arg: resolve(e.arg, aliases, table, resolving) };
  }
}

export interface HogqlResult {
  columns: string[];
  types: [string, string][];
  results: unknown[][];
  hasMore: boolean;
  limit: number;
  offset: number;
}

/** Runs a query of the supported subset against what the project holds; throws QueryError otherwise. */
export function runHogql(store: RecordStore, sql: string): HogqlResult {
  const q = parseHogql(sql);
  const aliases = new Map<string, HogqlExpr>();
  for (const item of q.select) if (item.alias) aliases.set(item.alias, item.expr);
  // An item's own alias is not substituted inside it: `toDate(timestamp) AS timestamp` reads the column.
  const select = q.select.map((item) => resolve(item.expr, aliases, q.from, new Set(item.alias ? [item.alias] : [])));
  const where = q.where ? resolve(q.where, aliases, q.from) : undefined;
  const groupBy = q.groupBy.map((e) => resolve(e, aliases, q.from));
  const orderBy = q.orderBy.map((o) => ({ expr: resolve(o.expr, aliases, q.from), desc: o.desc }));

  if (where && hasAggregate(where)) throw unsupported('aggregate functions in WHERE');
  if (groupBy.some(hasAggregate)) throw unsupported('aggregate functions in GROUP BY');
  const aggregated = groupBy.length > 0 || select.some(hasAggregate) || orderBy.some((o) => hasAggregate(o.expr));
  if (aggregated) {
    const grouped = new Set(groupBy.map((e) => JSON.stringify(e)));
    for (const e of [...select, ...orderBy.map((o) => o.expr)]) {
      if (!hasAggregate(e) && hasField(e) && !grouped.has(JSON.stringify(e)))
        throw unsupported(`${printExpr(e)} is neither in GROUP BY nor in an aggregate function`);
    }
  }
  for (const e of [...select, ...(where ? [where] : []), ...groupBy, ...orderBy.map((o) => o.expr)]) checkConstants(e);
  const limit = Math.min(q.limit ?? DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT);
  const offset = q.offset ?? 0;

  const table = { events: eventRows, groups: groupRows, one: () => [{ dummy: 0 }] }[q.from](store);
  const rows = table.filter((row) => !where || truthy(evaluate(where, { row })));
  let contexts: EvalContext[];
  if (aggregated) {
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const key = groupBy.map((e) => serializeKey(evaluate(e, { row }))).join('\u0000');
      const list = groups.get(key);
      if (list) list.push(row);
      else groups.set(key, [row]);
    }
    contexts = [...groups.values()].map((group) => ({ row: group[0]!, group }));
    // An aggregate without GROUP BY answers one row, also over no rows.
    if (groupBy.length === 0 && contexts.length === 0) contexts = [{ row: {}, group: [] }];
  } else {
    contexts = rows.map((row) => ({ row }));
  }

  if (orderBy.length > 0) {
    const keyed = contexts.map((ctx) => ({ ctx, keys: orderBy.map((o) => evaluate(o.expr, ctx)) }));
    keyed.sort((a, b) => {
      for (let i = 0; i < orderBy.length; i++) {
        const [x, y] = [a.keys[i]!, b.keys[i]!];
        // NULLs last in either direction, as ClickHouse sorts by default.
        if (x === null || y === null) {
          if (x === null && y === null) continue;
          return x === null ? 1 : -1;
        }
        const c = compare(x, y) ?? 0;
        if (c !== 0) return orderBy[i]!.desc ? -c : c;
      }
      return 0;
    });
    contexts = keyed.map((k) => k.ctx);
  }

  const page = contexts.slice(offset, offset + limit);
  const columns = q.select.map(columnName);
  return {
    columns,
    types: select.map((e, i) => [columns[i]!, typeOf(e, q.from)]),
    results: page.map((ctx) => select.map((e) => outputValue(evaluate(e, ctx)))),
    hasMore: contexts.length > offset + limit,
    limit,
    offset,
  };
}
