import type { ComparisonOp } from '../../comparison';
import { unsupported, tokenizeHogql, type Token } from './lexer';

// HogQL subset: the recursive-descent parser (see the top of ../index.ts for what it takes).

export type HogqlExpr =
  | { t: 'field'; chain: string[] }
  | { t: 'const'; value: string | number | boolean | null }
  | { t: 'call'; name: HogqlFunction; args: HogqlExpr[] }
  | { t: 'compare'; op: ComparisonOp; left: HogqlExpr; right: HogqlExpr }
  | { t: 'in'; negated: boolean; left: HogqlExpr; list: HogqlExpr[] }
  | { t: 'and' | 'or'; args: HogqlExpr[] }
  | { t: 'not'; arg: HogqlExpr };

type HogqlFunction = 'count' | 'toDate' | 'toDateTime' | 'isNull' | 'isNotNull';
const FUNCTIONS: Record<string, { name: HogqlFunction; arity: number }> = {
  count: { name: 'count', arity: 0 },
  todate: { name: 'toDate', arity: 1 },
  todatetime: { name: 'toDateTime', arity: 1 },
  isnull: { name: 'isNull', arity: 1 },
  isnotnull: { name: 'isNotNull', arity: 1 },
};

export interface HogqlSelect {
  select: { expr: HogqlExpr; alias?: string }[];
  /** `one`: no FROM, read as ClickHouse does, from the one-row table `system.one` (`SELECT 1`). */
  from: 'events' | 'groups' | 'one';
  where?: HogqlExpr;
  groupBy: HogqlExpr[];
  orderBy: { expr: HogqlExpr; desc: boolean }[];
  limit?: number;
  offset?: number;
}

const RESERVED = new Set(
  (
    'select from where group by order limit offset as and or not in is null true false asc desc having join ' +
    'union distinct on using left right inner outer full cross array settings with prewhere sample final ' +
    'window qualify between like ilike case when then else end interval'
  ).split(' '),
);

class HogqlParser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    const t = this.tok;
    if (t.k !== 'eof') this.i++;
    return t;
  }
  private isWord(word: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t?.k === 'word' && t.v.toLowerCase() === word;
  }
  private acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.i++;
    return true;
  }
  private expectWord(word: string): void {
    if (!this.acceptWord(word)) throw unsupported(`expected ${word.toUpperCase()} ${this.where()}`);
  }
  private isOp(op: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t?.k === 'op' && t.v === op;
  }
  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }
  private expectOp(op: string): void {
    if (!this.acceptOp(op)) throw unsupported(`expected "${op}" ${this.where()}`);
  }
  private where(): string {
    const t = this.tok;
    if (t.k === 'eof') return 'at the end of the query';
    const text = t.k === 'str' ? `'${t.v}'` : String(t.v);
    return `at ${t.pos} (near ${JSON.stringify(text)})`;
  }
  private integer(what: string): number {
    const t = this.next();
    if (t.k !== 'num' || !Number.isInteger(t.v)) throw unsupported(`${what} must be an integer`);
    return t.v;
  }

  parse(): HogqlSelect {
    this.expectWord('select');
    if (this.isWord('distinct')) throw unsupported('SELECT DISTINCT');
    const select: HogqlSelect['select'] = [];
    do {
      if (this.isOp('*')) throw unsupported('SELECT *');
      const expr = this.expr();
      let alias: string | undefined;
      if (this.acceptWord('as')) {
        const t = this.next();
        if ((t.k !== 'word' || RESERVED.has(t.v.toLowerCase())) && t.k !== 'qident')
          throw unsupported(`expected an alias after AS ${this.where()}`);
        alias = t.v;
      }
      select.push({ expr, alias });
    } while (this.acceptOp(','));
    let from: HogqlSelect['from'] = 'one';
    if (this.acceptWord('from')) {
      const table = this.next();
      if (table.k !== 'word' || !['events', 'groups'].includes(table.v.toLowerCase()))
        throw unsupported(
          `only the events and groups tables are simulated (FROM ${String(table.k === 'eof' ? '' : table.v)})`,
        );
      from = table.v.toLowerCase() as 'events' | 'groups';
    }
    const query: HogqlSelect = { select, from, groupBy: [], orderBy: [] };
    if (this.acceptWord('where')) query.where = this.expr();
    if (this.acceptWord('group')) {
      this.expectWord('by');
      do query.groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    if (this.acceptWord('order')) {
      this.expectWord('by');
      do {
        const expr = this.expr();
        const desc = this.acceptWord('desc') ? true : (this.acceptWord('asc'), false);
        if (this.isWord('nulls')) throw unsupported('NULLS FIRST / LAST');
        query.orderBy.push({ expr, desc });
      } while (this.acceptOp(','));
    }
    if (this.acceptWord('limit')) {
      query.limit = this.integer('LIMIT');
      if (this.acceptWord('offset')) query.offset = this.integer('OFFSET');
    }
    this.acceptOp(';');
    if (this.tok.k !== 'eof') throw unsupported(`unexpected ${this.where()}`);
    return query;
  }

  private expr(): HogqlExpr {
    return this.or();
  }
  private or(): HogqlExpr {
    const args = [this.and()];
    while (this.acceptWord('or')) args.push(this.and());
    return args.length === 1 ? args[0]! : { t: 'or', args };
  }
  private and(): HogqlExpr {
    const args = [this.not()];
    while (this.acceptWord('and')) args.push(this.not());
    return args.length === 1 ? args[0]! : { t: 'and', args };
  }
  private not(): HogqlExpr {
    if (this.acceptWord('not')) return { t: 'not', arg: this.not() };
    return this.comparison();
  }
  private comparison(): HogqlExpr {
    const left = this.primary();
    const t = this.tok;
    if (t.k === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      const op = t.v === '==' ? '=' : t.v === '<>' ? '!=' : (t.v as ComparisonOp);
      return { t: 'compare', op, left, right: this.primary() };
    }
    if (this.isWord('not') && this.isWord('in', 1)) {
      this.i += 2;
      return { t: 'in', negated: true, left, list: this.list() };
    }
    if (this.acceptWord('in')) return { t: 'in', negated: false, left, list: this.list() };
    if (this.acceptWord('is')) {
      const negated = this.acceptWord('not');
      this.expectWord('null');
      return { t: 'call', name: negated ? 'isNotNull' : 'isNull', args: [left] };
    }
    for (const word of ['like', 'ilike', 'between'])
      if (this.isWord(word) || (this.isWord('not') && this.isWord(word, 1))) throw unsupported(word.toUpperCase());
    return left;
  }
  private list(): HogqlExpr[] {
    this.expectOp('(');
    const items: HogqlExpr[] = [];
    if (!this.isOp(')')) {
      do items.push(this.primary());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    return items;
  }
  private primary(): HogqlExpr {
    const t = this.tok;
    if (this.acceptOp('(')) {
      if (this.isWord('select')) throw unsupported('sub-queries');
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (this.acceptOp('-')) {
      const n = this.next();
      if (n.k !== 'num') throw unsupported(`expected a number after "-" ${this.where()}`);
      return { t: 'const', value: -n.v };
    }
    if (t.k === 'str' || t.k === 'num') {
      this.i++;
      return { t: 'const', value: t.v };
    }
    if (t.k === 'word') {
      const lower = t.v.toLowerCase();
      if (lower === 'null' || lower === 'true' || lower === 'false') {
        this.i++;
        return { t: 'const', value: lower === 'null' ? null : lower === 'true' };
      }
      if (RESERVED.has(lower)) throw unsupported(`unexpected ${this.where()}`);
      if (this.isOp('(', 1)) return this.call();
    }
    if (t.k === 'word' || t.k === 'qident') {
      this.i++;
      const chain = [t.v];
      while (this.acceptOp('.')) {
        const part = this.next();
        if (part.k !== 'word' && part.k !== 'qident' && part.k !== 'num')
          throw unsupported(`expected a property name after "." ${this.where()}`);
        chain.push(String(part.v));
      }
      return { t: 'field', chain };
    }
    throw unsupported(`unexpected ${this.where()}`);
  }
  private call(): HogqlExpr {
    const name = String((this.next() as { v: string }).v);
    const fn = FUNCTIONS[name.toLowerCase()];
    if (!fn) throw unsupported(`function ${name}()`);
    this.expectOp('(');
    const args: HogqlExpr[] = [];
    if (fn.name === 'count' && this.acceptOp('*')) {
      // count(*) is count()
    } else if (!this.isOp(')')) {
      do args.push(this.expr());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    if (args.length !== fn.arity) throw unsupported(`${fn.name}() with ${args.length} argument(s)`);
    return { t: 'call', name: fn.name, args };
  }
}

export function parseHogql(sql: string): HogqlSelect {
  return new HogqlParser(tokenizeHogql(sql)).parse();
}
