import type { ComparisonOp } from '../../comparison';
import type { SfFault } from '../errors';
import { malformed, tokenize, type Token } from './lexer';

// SOQL parser (recursive descent) for the subset the simulator answers; see the top of ../index.ts.

const DAY_MS = 86_400_000;

export interface FieldPath {
  parts: string[];
  text: string;
  pos: number;
}

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number }
  /** A date or a date literal: [start, end) in ms. */
  | { kind: 'range'; start: number; end: number };

export type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'cmp'; field: FieldPath; op: ComparisonOp; value: Literal }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldPath; pattern: RegExp };

export interface OrderItem {
  field: FieldPath;
  desc: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  select: FieldPath[] | 'count';
  from: { name: string; pos: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ORDER',
  'BY',
  'LIMIT',
  'OFFSET',
  'NULL',
  'TRUE',
  'FALSE',
  'GROUP',
  'HAVING',
  'WITH',
  'ASC',
  'DESC',
  'NULLS',
  'USING',
  'INCLUDES',
  'EXCLUDES',
  'TYPEOF',
]);

function likeRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) {
      source += escapeRegex(pattern.charAt(++i));
      continue;
    }
    source += c === '%' ? '.*' : c === '_' ? '.' : escapeRegex(c);
  }
  return new RegExp(`^${source}$`, 'is');
}

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function startOfDayUtc(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

class SoqlParser {
  private i = 0;

  constructor(
    private readonly soql: string,
    private readonly tokens: Token[],
    private readonly now: number,
  ) {}

  parse(): SoqlQuery {
    this.expectKeyword('SELECT');
    let select: SoqlQuery['select'];
    if (this.isKeyword(this.peek(), 'COUNT') && this.isPunct(this.peek(1), '(')) {
      const count = this.next();
      this.next();
      if (!this.isPunct(this.peek(), ')')) {
        throw malformed(this.soql, count.pos, 'The sandbox supports COUNT() without a field only');
      }
      this.next();
      select = 'count';
    } else {
      select = [this.fieldPath()];
      while (this.acceptPunct(',')) select.push(this.fieldPath());
    }
    this.expectKeyword('FROM');
    const from = this.next();
    if (from.kind !== 'ident' || RESERVED.has(from.text.toUpperCase())) throw this.unexpected(from);
    let where: Condition | undefined;
    if (this.acceptKeyword('WHERE')) where = this.condition();
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do orderBy.push(this.orderItem());
      while (this.acceptPunct(','));
    }
    const limit = this.acceptKeyword('LIMIT') ? this.integer() : undefined;
    const offset = this.acceptKeyword('OFFSET') ? this.integer() : undefined;
    const end = this.peek();
    if (end.kind !== 'eof') throw this.unexpected(end);
    return { select, from: { name: from.text, pos: from.pos }, where, orderBy, limit, offset };
  }

  private condition(): Condition {
    const first = this.unary();
    const token = this.peek();
    const op = this.isKeyword(token, 'AND') ? 'and' : this.isKeyword(token, 'OR') ? 'or' : undefined;
    if (!op) return first;
    const items = [first];
    while (this.acceptKeyword(op.toUpperCase())) items.push(this.unary());
    const after = this.peek();
    // SOQL refuses `a AND b OR c`: mixing needs parentheses.
    if (this.isKeyword(after, op === 'and' ? 'OR' : 'AND')) throw this.unexpected(after);
    return { kind: op, items };
  }

  private unary(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', item: this.unary() };
    if (this.acceptPunct('(')) {
      const inner = this.condition();
      this.expectPunct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const field = this.fieldPath();
    const token = this.next();
    if (token.kind === 'op') {
      const op = (token.text === '<>' ? '!=' : token.text) as ComparisonOp;
      return { kind: 'cmp', field, op, value: this.value() };
    }
    if (this.isKeyword(token, 'LIKE')) {
      const pattern = this.next();
      if (pattern.kind !== 'string') throw this.unexpected(pattern);
      return { kind: 'like', field, pattern: likeRegex(pattern.like ?? pattern.text) };
    }
    let negated = false;
    if (this.isKeyword(token, 'NOT')) {
      negated = true;
      const inToken = this.next();
      if (!this.isKeyword(inToken, 'IN')) throw this.unexpected(inToken);
    } else if (!this.isKeyword(token, 'IN')) {
      throw this.unexpected(token);
    }
    this.expectPunct('(');
    const values = [this.value()];
    while (this.acceptPunct(',')) values.push(this.value());
    this.expectPunct(')');
    return { kind: 'in', field, negated, values };
  }

  private value(): Literal {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.text };
      case 'number':
        return { kind: 'number', value: Number(token.text) };
      case 'datetime': {
        const value = Date.parse(token.text);
        if (Number.isNaN(value)) throw this.unexpected(token);
        return { kind: 'datetime', value };
      }
      case 'date': {
        const start = Date.parse(`${token.text}T00:00:00Z`);
        if (Number.isNaN(start)) throw this.unexpected(token);
        return { kind: 'range', start, end: start + DAY_MS };
      }
      case 'ident': {
        const word = token.text.toUpperCase();
        const today = startOfDayUtc(this.now);
        switch (word) {
          case 'NULL':
            return { kind: 'null' };
          case 'TRUE':
          case 'FALSE':
            return { kind: 'boolean', value: word === 'TRUE' };
          case 'TODAY':
            return { kind: 'range', start: today, end: today + DAY_MS };
          case 'YESTERDAY':
            return { kind: 'range', start: today - DAY_MS, end: today };
          case 'TOMORROW':
            return { kind: 'range', start: today + DAY_MS, end: today + 2 * DAY_MS };
          case 'LAST_N_DAYS':
          case 'NEXT_N_DAYS': {
            this.expectPunct(':');
            const n = this.integer();
            return word === 'LAST_N_DAYS'
              ? { kind: 'range', start: today - n * DAY_MS, end: today + DAY_MS }
              : { kind: 'range', start: today + DAY_MS, end: today + (n + 1) * DAY_MS };
          }
          default:
            throw this.unexpected(token);
        }
      }
      default:
        throw this.unexpected(token);
    }
  }

  private orderItem(): OrderItem {
    const field = this.fieldPath();
    let desc = false;
    if (this.acceptKeyword('DESC')) desc = true;
    else this.acceptKeyword('ASC');
    let nullsLast = false;
    if (this.acceptKeyword('NULLS')) {
      if (this.acceptKeyword('LAST')) nullsLast = true;
      else this.expectKeyword('FIRST');
    }
    return { field, desc, nullsLast };
  }

  private fieldPath(): FieldPath {
    const first = this.next();
    if (first.kind !== 'ident' || RESERVED.has(first.text.toUpperCase())) throw this.unexpected(first);
    if (this.isPunct(this.peek(), '(')) {
      throw malformed(this.soql, first.pos, `The sandbox does not support the function ${first.text}() in SOQL`);
    }
    const parts = [first.text];
    while (this.acceptPunct('.')) {
      const part = this.next();
      if (part.kind !== 'ident') throw this.unexpected(part);
      parts.push(part.text);
    }
    return { parts, text: parts.join('.'), pos: first.pos };
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw this.unexpected(token);
    return Number(token.text);
  }

  private peek(offset = 0): Token {
    const last = this.tokens[this.tokens.length - 1] as Token;
    return this.tokens[this.i + offset] ?? last;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.i++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'ident' && token.text.toUpperCase() === keyword;
  }

  private isPunct(token: Token, punct: string): boolean {
    return token.kind === 'punct' && token.text === punct;
  }

  private acceptKeyword(keyword: string): boolean {
    if (!this.isKeyword(this.peek(), keyword)) return false;
    this.i++;
    return true;
  }

  private acceptPunct(punct: string): boolean {
    if (!this.isPunct(this.peek(), punct)) return false;
    this.i++;
    return true;
  }

  private expectKeyword(keyword: string): void {
    if (!this.acceptKeyword(keyword)) throw this.unexpected(this.peek());
  }

  private expectPunct(punct: string): void {
    if (!this.acceptPunct(punct)) throw this.unexpected(this.peek());
  }

  private unexpected(token: Token): SfFault {
    return malformed(this.soql, token.pos, `unexpected token: ${token.kind === 'eof' ? '<EOF>' : `'${token.src}'`}`);
  }
}

export function parseSoql(soql: string, now = Date.now()): SoqlQuery {
  return new SoqlParser(soql, tokenize(soql), now).parse();
}
