import { beforeEach, describe, expect, it } from 'vitest';
import { seedSalesforceRecords } from '../../../src/sandbox/salesforce';
import { SfFault } from '../../../src/sandbox/salesforce/errors';
import { tokenize, type Token } from '../../../src/sandbox/salesforce/soql/lexer';
import { parseSoql } from '../../../src/sandbox/salesforce/soql/parser';
import { runSoql, type SoqlResult } from '../../../src/sandbox/salesforce/soql/runner';
import { SandboxState } from '../../../src/sandbox/state';

/**
 * The SOQL subset of the Salesforce simulator, without HTTP: the tokenizer, the parser and the runner over an org's
 * records. What the API answers around them (pages, error bodies) is tested in ../salesforce.test.ts.
 */

const NOW = Date.UTC(2026, 10, 24, 9);
const DAY = 86_400_000;
const BASE = '/services/data/v62.0';

/** Asymmetric matchers typed `unknown` (vitest types them `any`). */
const containing = (shape: object): unknown => expect.objectContaining(shape);
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

const kinds = (tokens: Token[]) => tokens.map((t) => [t.kind, t.text]);

/** The SfFault a call throws (the test fails when it throws nothing or something else). */
function faultOf(run: () => unknown): SfFault {
  try {
    run();
  } catch (err) {
    if (err instanceof SfFault) return err;
    throw err;
  }
  throw new Error('expected an SfFault');
}

describe('SOQL tokenizer', () => {
  it('splits words, literals, operators and punctuation, ending with eof', () => {
    expect(kinds(tokenize("SELECT Id, Account.Name FROM Contact WHERE Age__c >= 2.5 AND Name != 'x'"))).toEqual([
      ['ident', 'SELECT'],
      ['ident', 'Id'],
      ['punct', ','],
      ['ident', 'Account'],
      ['punct', '.'],
      ['ident', 'Name'],
      ['ident', 'FROM'],
      ['ident', 'Contact'],
      ['ident', 'WHERE'],
      ['ident', 'Age__c'],
      ['op', '>='],
      ['number', '2.5'],
      ['ident', 'AND'],
      ['ident', 'Name'],
      ['op', '!='],
      ['string', 'x'],
      ['eof', ''],
    ]);
  });

  it('reads date-times, dates, negative numbers, <> and the colon of LAST_N_DAYS:n', () => {
    expect(
      kinds(tokenize('2026-11-01T00:00:00Z 2026-11-01T10:00:00.123+01:00 2026-11-01 -3 <> LAST_N_DAYS:30')),
    ).toEqual([
      ['datetime', '2026-11-01T00:00:00Z'],
      ['datetime', '2026-11-01T10:00:00.123+01:00'],
      ['date', '2026-11-01'],
      ['number', '-3'],
      ['op', '<>'],
      ['ident', 'LAST_N_DAYS'],
      ['punct', ':'],
      ['number', '30'],
      ['eof', ''],
    ]);
  });

  it('records where each token starts and how it was written', () => {
    const tokens = tokenize("SELECT Id\nFROM Lead WHERE Name = 'O\\'Brien'");
    expect(tokens.map((t) => t.pos)).toEqual([0, 7, 10, 15, 20, 26, 31, 33, 43]);
    expect(tokens[7]).toEqual({ kind: 'string', text: "O'Brien", like: "O'Brien", src: "'O\\'Brien'", pos: 33 });
    expect(tokens[8]).toEqual({ kind: 'eof', text: '', src: '<EOF>', pos: 43 });
  });

  it('unescapes strings, keeping \\% and \\_ escaped for LIKE only', () => {
    const [value] = tokenize("'a\\nb\\\\c\\%d\\_e\\tf'");
    expect(value?.text).toBe('a\nb\\c%d_e\tf');
    expect(value?.like).toBe('a\nb\\\\c\\%d\\_e\tf');
  });

  it('refuses an unterminated string, an unknown escape and an unknown character with MALFORMED_QUERY', () => {
    const unterminated = faultOf(() => tokenize("SELECT Id FROM Account WHERE Name = 'abc"));
    expect(unterminated).toMatchObject({ status: 400, errorCode: 'MALFORMED_QUERY' });
    expect(unterminated.message).toContain('ERROR at Row:1:Column:37');
    expect(unterminated.message).toContain("unterminated string literal: 'abc");

    const escape = faultOf(() => tokenize("SELECT Id FROM Account WHERE Name = 'a\\qb'"));
    expect(escape.message).toContain("Illegal character sequence '\\q' in string literal.");

    const character = faultOf(() => tokenize('SELECT Id FROM Account WHERE Name = #'));
    expect(character.message).toBe(
      "\nSELECT Id FROM Account WHERE Name = #\n                                    ^\nERROR at Row:1:Column:37\nline 1:36 no viable alternative at character '#'",
    );
  });

  it('counts rows and columns from the line the error is on', () => {
    const fault = faultOf(() => tokenize('SELECT Id\nFROM Account\nWHERE Name = ?'));
    expect(fault.message).toBe(
      "\nWHERE Name = ?\n             ^\nERROR at Row:3:Column:14\nline 1:36 no viable alternative at character '?'",
    );
  });
});

describe('SOQL parser', () => {
  it('parses the subset into a tree (tokenizer and parser, no regexes over the whole text)', () => {
    const query = parseSoql(
      "SELECT Name, Account.Name FROM Contact WHERE (Email LIKE '%\\_x%' OR NOT LastName IN ('a', 'b')) AND CreatedDate > LAST_N_DAYS:30 ORDER BY Name DESC NULLS LAST LIMIT 10",
      NOW,
    );
    expect(query.from.name).toBe('Contact');
    expect(query.select).toEqual([
      { parts: ['Name'], text: 'Name', pos: 7 },
      { parts: ['Account', 'Name'], text: 'Account.Name', pos: 13 },
    ]);
    expect(query.limit).toBe(10);
    expect(query.orderBy).toEqual([{ field: containing({ text: 'Name' }), desc: true, nullsLast: true }]);
    expect(query.where).toMatchObject({
      kind: 'and',
      items: [
        { kind: 'or', items: [{ kind: 'like' }, { kind: 'not', item: { kind: 'in', negated: false } }] },
        {
          kind: 'cmp',
          op: '>',
          value: { kind: 'range', start: Date.UTC(2026, 9, 25), end: Date.UTC(2026, 10, 25) },
        },
      ],
    });
    const like = (query.where as { items: { items: { pattern: RegExp }[] }[] }).items[0]?.items[0]?.pattern;
    expect(like?.test('a_x@b')).toBe(true);
    expect(like?.test('abx@b')).toBe(false);
  });

  it('parses COUNT(), keywords in any case, OFFSET, and ASC / NULLS FIRST as the defaults', () => {
    const query = parseSoql(
      'select count() from account where name = null order by Name asc nulls first limit 5 offset 2',
    );
    expect(query).toEqual({
      select: 'count',
      from: { name: 'account', pos: 20 },
      where: { kind: 'cmp', field: { parts: ['name'], text: 'name', pos: 34 }, op: '=', value: { kind: 'null' } },
      orderBy: [{ field: { parts: ['Name'], text: 'Name', pos: 55 }, desc: false, nullsLast: false }],
      limit: 5,
      offset: 2,
    });
  });

  it('reads each kind of literal, <> as !=, and NOT IN', () => {
    const where = (condition: string) => parseSoql(`SELECT Id FROM Account WHERE ${condition}`, NOW).where;
    const today = Date.UTC(2026, 10, 24);
    expect(where("Name <> 'Acme'")).toMatchObject({ op: '!=', value: { kind: 'string', value: 'Acme' } });
    expect(where('Employees__c < -1.5')).toMatchObject({ op: '<', value: { kind: 'number', value: -1.5 } });
    expect(where('Active__c = TRUE')).toMatchObject({ value: { kind: 'boolean', value: true } });
    expect(where('Active__c = false')).toMatchObject({ value: { kind: 'boolean', value: false } });
    expect(where('CreatedDate >= 2026-11-01T00:00:00Z')).toMatchObject({
      value: { kind: 'datetime', value: Date.UTC(2026, 10, 1) },
    });
    expect(where('CreatedDate = 2026-11-01')).toMatchObject({
      value: { kind: 'range', start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 10, 2) },
    });
    expect(where('CreatedDate = TODAY')).toMatchObject({ value: { kind: 'range', start: today, end: today + DAY } });
    expect(where('CreatedDate = YESTERDAY')).toMatchObject({
      value: { kind: 'range', start: today - DAY, end: today },
    });
    expect(where('CreatedDate = TOMORROW')).toMatchObject({
      value: { kind: 'range', start: today + DAY, end: today + 2 * DAY },
    });
    expect(where('CreatedDate = NEXT_N_DAYS:3')).toMatchObject({
      value: { kind: 'range', start: today + DAY, end: today + 4 * DAY },
    });
    expect(where("Name NOT IN ('a', 'b')")).toMatchObject({
      kind: 'in',
      negated: true,
      values: [
        { kind: 'string', value: 'a' },
        { kind: 'string', value: 'b' },
      ],
    });
  });

  it('groups a chain of one operator and nests parentheses', () => {
    expect(parseSoql('SELECT Id FROM Lead WHERE A = 1 OR B = 2 OR (C = 3 AND NOT D = 4)').where).toMatchObject({
      kind: 'or',
      items: [{ kind: 'cmp' }, { kind: 'cmp' }, { kind: 'and', items: [{ kind: 'cmp' }, { kind: 'not' }] }],
    });
  });

  it('refuses what the subset does not have with MALFORMED_QUERY at the offending token', () => {
    const malformed = (soql: string) => {
      const fault = faultOf(() => parseSoql(soql));
      expect(fault.errorCode).toBe('MALFORMED_QUERY');
      return fault.message.split('\n').slice(-2).join(' | ');
    };
    expect(malformed('SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3')).toBe(
      "ERROR at Row:1:Column:46 | unexpected token: 'OR'",
    );
    expect(malformed('SELECT COUNT(Id) FROM Account')).toBe(
      'ERROR at Row:1:Column:8 | The sandbox supports COUNT() without a field only',
    );
    expect(malformed('SELECT MAX(Employees__c) FROM Account')).toBe(
      'ERROR at Row:1:Column:8 | The sandbox does not support the function MAX() in SOQL',
    );
    expect(malformed('SELECT Id FROM Account GROUP BY Name')).toBe(
      "ERROR at Row:1:Column:24 | unexpected token: 'GROUP'",
    );
    expect(malformed('SELECT Id FROM')).toBe('ERROR at Row:1:Column:15 | unexpected token: <EOF>');
    expect(malformed('SELECT FROM Account')).toBe("ERROR at Row:1:Column:8 | unexpected token: 'FROM'");
    expect(malformed('SELECT Id FROM Account LIMIT 1.5')).toBe("ERROR at Row:1:Column:30 | unexpected token: '1.5'");
    expect(malformed('SELECT Id FROM Account WHERE Name LIKE 5')).toBe(
      "ERROR at Row:1:Column:40 | unexpected token: '5'",
    );
    expect(malformed('SELECT Id FROM Account WHERE CreatedDate = SOMEDAY')).toBe(
      "ERROR at Row:1:Column:44 | unexpected token: 'SOMEDAY'",
    );
  });
});

describe('SOQL runner', () => {
  let state: SandboxState;
  const run = (soql: string): SoqlResult => runSoql(state.records.salesforce, state.salesforceOrg, BASE, soql, NOW);
  const rows = (soql: string) => {
    const result = run(soql);
    if (result.kind !== 'rows') throw new Error(`expected rows, got ${result.kind}`);
    return result.rows;
  };
  const names = (soql: string) => rows(soql).map((r) => r.Name);

  beforeEach(() => {
    state = new SandboxState(1);
    const [acme, globex] = seedSalesforceRecords(state, 'Account', [
      { Name: 'Acme', Website: 'acme.com', NumberOfEmployees: 120, CreatedDate: '2026-11-24T08:00:00Z' },
      { Name: 'globex', Website: null, NumberOfEmployees: 45, CreatedDate: '2026-11-20T08:00:00Z' },
      { Name: 'Initech', NumberOfEmployees: '300', CreatedDate: '2026-10-01T08:00:00Z' },
    ]) as [string, string, string];
    seedSalesforceRecords(state, 'Contact', [
      { LastName: 'Lovelace', Email: 'ada@acme.com', AccountId: acme },
      { LastName: 'Hopper', Email: 'grace@globex.com', AccountId: globex },
      { LastName: 'Orphan', Email: null },
    ]);
  });

  it('filters case-insensitively, and != matches nulls as SOQL does', () => {
    expect(names("SELECT Name FROM Account WHERE Name = 'ACME'")).toEqual(['Acme']);
    expect(names("SELECT Name FROM Account WHERE Website != 'acme.com'")).toEqual(['globex', 'Initech']);
    expect(names('SELECT Name FROM Account WHERE Website = null')).toEqual(['globex', 'Initech']);
    expect(names("SELECT Name FROM Account WHERE Website NOT IN ('acme.com')")).toEqual(['globex', 'Initech']);
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'g%'")).toEqual(['globex']);
  });

  it('compares numbers stored as text, and dates against date literals', () => {
    expect(names('SELECT Name FROM Account WHERE NumberOfEmployees > 100')).toEqual(['Acme', 'Initech']);
    expect(names('SELECT Name FROM Account WHERE CreatedDate = TODAY')).toEqual(['Acme']);
    expect(names('SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:7')).toEqual(['Acme', 'globex']);
    expect(names('SELECT Name FROM Account WHERE CreatedDate < 2026-11-01')).toEqual(['Initech']);
  });

  it('sorts with nulls first unless NULLS LAST, and applies OFFSET then LIMIT', () => {
    expect(names('SELECT Name FROM Account ORDER BY Website')).toEqual(['globex', 'Initech', 'Acme']);
    expect(names('SELECT Name FROM Account ORDER BY Website DESC NULLS LAST')).toEqual(['Acme', 'globex', 'Initech']);
    expect(names('SELECT Name FROM Account ORDER BY Name')).toEqual(['Acme', 'globex', 'Initech']);
    expect(names('SELECT Name FROM Account ORDER BY Name DESC LIMIT 2 OFFSET 1')).toEqual(['globex', 'Acme']);
  });

  it('counts with COUNT() after LIMIT and OFFSET', () => {
    expect(run('SELECT COUNT() FROM Contact')).toEqual({ kind: 'count', totalSize: 3 });
    expect(run('SELECT COUNT() FROM Contact WHERE Account.Name = null')).toEqual({ kind: 'count', totalSize: 1 });
    expect(run('SELECT COUNT() FROM Contact LIMIT 5 OFFSET 2')).toEqual({ kind: 'count', totalSize: 1 });
  });

  it('renders rows with attributes, stored field names and parent records through relationships', () => {
    const [ada, orphan] = rows(
      "SELECT id, lastname, Account.Name, Account.Website FROM Contact WHERE LastName IN ('lovelace', 'ORPHAN') ORDER BY LastName",
    );
    expect(ada).toEqual({
      attributes: { type: 'Contact', url: `${BASE}/sobjects/Contact/${String(ada?.Id)}` },
      Id: matching(/^003SB\d{10}[A-Z0-5]{3}$/),
      LastName: 'Lovelace',
      Account: {
        attributes: {
          type: 'Account',
          url: matching(/^\/services\/data\/v62\.0\/sobjects\/Account\/001/),
        },
        Name: 'Acme',
        Website: 'acme.com',
      },
    });
    expect(orphan).toMatchObject({ LastName: 'Orphan', Account: null });
  });

  it('refuses an unknown object, an unknown relationship and a field selected twice', () => {
    const unknownType = faultOf(() => run('SELECT Id FROM Widget__c'));
    expect(unknownType).toMatchObject({ status: 400, errorCode: 'INVALID_TYPE' });
    expect(unknownType.message).toContain("sObject type 'Widget__c' is not supported.");
    expect(unknownType.message).toContain('ERROR at Row:1:Column:16');

    const relationship = faultOf(() => run('SELECT Foo.Name FROM Contact'));
    expect(relationship).toMatchObject({ status: 400, errorCode: 'INVALID_FIELD' });
    expect(relationship.message).toContain("Didn't understand relationship 'Foo' in field path.");

    const duplicate = faultOf(() => run('SELECT Name, name FROM Account'));
    expect(duplicate.errorCode).toBe('MALFORMED_QUERY');
    expect(duplicate.message).toContain('duplicate field selected: name');
  });

  it('accepts the queried object as a prefix of its own fields', () => {
    expect(names("SELECT Account.Name FROM Account WHERE Account.Name = 'acme'")).toEqual(['Acme']);
  });
});
