// HogQL subset: the tokenizer, and the error every part of the interpreter throws for what it does not support.

export class QueryError extends Error {}
export const unsupported = (reason: string) => new QueryError(`unsupported query in the sandbox: ${reason}`);

export type Token =
  | { k: 'word'; v: string; pos: number }
  | { k: 'qident'; v: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: number; pos: number }
  | { k: 'op'; v: string; pos: number }
  | { k: 'eof'; pos: number };

const OPERATORS = ['<=', '>=', '!=', '<>', '==', '=', '<', '>', '(', ')', ',', '.', '*', ';', '-'];

export function tokenizeHogql(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw unsupported('unterminated comment');
      i = end + 2;
      continue;
    }
    const start = i;
    if (/[A-Za-z_$]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      tokens.push({ k: 'word', v: sql.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < sql.length && /[0-9]/.test(sql[i]!)) i++;
      if (sql[i] === '.' && /[0-9]/.test(sql[i + 1] ?? '')) {
        i++;
        while (i < sql.length && /[0-9]/.test(sql[i]!)) i++;
      }
      tokens.push({ k: 'num', v: Number(sql.slice(start, i)), pos: start });
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      // Strings in single quotes; identifiers in double quotes or backticks. Backslash escapes and doubled quotes.
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw unsupported(`unterminated ${c === "'" ? 'string' : 'identifier'} at ${start}`);
        const ch = sql[i]!;
        if (ch === '\\') {
          const next = sql[i + 1];
          if (next === undefined) throw unsupported(`unterminated string at ${start}`);
          value += ({ n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next;
          i += 2;
        } else if (ch === c) {
          if (sql[i + 1] === c) {
            value += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          value += ch;
          i++;
        }
      }
      tokens.push(c === "'" ? { k: 'str', v: value, pos: start } : { k: 'qident', v: value, pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (!op) throw unsupported(`unexpected character ${JSON.stringify(c)} at ${start}`);
    tokens.push({ k: 'op', v: op, pos: start });
    i += op.length;
  }
  tokens.push({ k: 'eof', pos: sql.length });
  return tokens;
}
