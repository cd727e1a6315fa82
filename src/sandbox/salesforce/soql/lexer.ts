import { SfFault } from '../errors';

// SOQL tokenizer: words, literals (strings unescaped, with their LIKE form kept), operators and punctuation.

export type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The value: unescaped for strings. */
  text: string;
  /** Strings: the LIKE pattern, with `\%` and `\_` still escaped. */
  like?: string;
  /** As written, for error messages. */
  src: string;
  pos: number;
}

export const STRING_ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
};

export const DATETIME_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/y;
export const DATE_RE = /\d{4}-\d{2}-\d{2}(?![\w:])/y;
export const NUMBER_RE = /-?\d+(?:\.\d+)?(?![\w.])/y;
export const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
export const LEXEMES: [TokenKind, RegExp][] = [
  ['datetime', DATETIME_RE],
  ['date', DATE_RE],
  ['number', NUMBER_RE],
  ['ident', IDENT_RE],
];

export function malformed(soql: string, pos: number, detail: string): SfFault {
  const before = soql.slice(0, pos);
  const row = before.split('\n').length;
  const column = pos - (before.lastIndexOf('\n') + 1) + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return new SfFault(
    400,
    'MALFORMED_QUERY',
    `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`,
  );
}

function sticky(re: RegExp, input: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(input)?.[0];
}

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql.charAt(i);
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      let like = '';
      i++;
      for (;;) {
        if (i >= soql.length) throw malformed(soql, start, `unterminated string literal: ${soql.slice(start)}`);
        const ch = soql.charAt(i);
        if (ch === '\\') {
          const next = soql.charAt(i + 1);
          if (next === '%' || next === '_') {
            value += next;
            like += `\\${next}`;
          } else {
            const unescaped = STRING_ESCAPES[next];
            if (unescaped === undefined) {
              throw malformed(
                soql,
                i,
                `Invalid string literal '${soql.slice(start, i + 2)}'. Illegal character sequence '\\${next}' in string literal.`,
              );
            }
            value += unescaped;
            like += unescaped === '\\' ? '\\\\' : unescaped;
          }
          i += 2;
          continue;
        }
        i++;
        if (ch === "'") break;
        value += ch;
        like += ch;
      }
      tokens.push({ kind: 'string', text: value, like, src: soql.slice(start, i), pos: start });
      continue;
    }
    let word: Token | undefined;
    for (const [kind, re] of LEXEMES) {
      const m = sticky(re, soql, i);
      if (m !== undefined) {
        word = { kind, text: m, src: m, pos: start };
        break;
      }
    }
    if (word) {
      tokens.push(word);
      i += word.src.length;
      continue;
    }
    const two = soql.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
      tokens.push({ kind: 'op', text: two, src: two, pos: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, src: c, pos: start });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.' || c === ':') {
      tokens.push({ kind: 'punct', text: c, src: c, pos: start });
      i++;
      continue;
    }
    throw malformed(soql, i, `line 1:${i} no viable alternative at character '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '', src: '<EOF>', pos: soql.length });
  return tokens;
}
