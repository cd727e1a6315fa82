import { beforeEach, describe, expect, it } from 'vitest';
import { seedPosthogEvents } from '../../../src/sandbox/posthog';
import { QueryError, tokenizeHogql } from '../../../src/sandbox/posthog/hogql/lexer';
import { parseHogql } from '../../../src/sandbox/posthog/hogql/parser';
import { runHogql } from '../../../src/sandbox/posthog/hogql/runner';
import { SandboxState } from '../../../src/sandbox/state';

/**
 * The HogQL subset of the PostHog simulator, without HTTP: the tokenizer, the parser and the runner over a project's
 * events and groups. What the query API answers around them is tested in ../posthog.test.ts.
 */

/** The message of the QueryError a call throws (the test fails when it throws nothing or something else). */
function queryErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof QueryError) return err.message;
    throw err;
  }
  throw new Error('expected a QueryError');
}

describe('HogQL tokenizer', () => {
  it('splits words, numbers, strings, quoted identifiers and operators, ending with eof', () => {
    expect(tokenizeHogql("SELECT count() FROM events WHERE properties.`$plan` != 'pro' AND n >= 2.5;")).toEqual([
      { k: 'word', v: 'SELECT', pos: 0 },
      { k: 'word', v: 'count', pos: 7 },
      { k: 'op', v: '(', pos: 12 },
      { k: 'op', v: ')', pos: 13 },
      { k: 'word', v: 'FROM', pos: 15 },
      { k: 'word', v: 'events', pos: 20 },
      { k: 'word', v: 'WHERE', pos: 27 },
      { k: 'word', v: 'properties', pos: 33 },
      { k: 'op', v: '.', pos: 43 },
      { k: 'qident', v: '$plan', pos: 44 },
      { k: 'op', v: '!=', pos: 52 },
      { k: 'str', v: 'pro', pos: 55 },
      { k: 'word', v: 'AND', pos: 61 },
      { k: 'word', v: 'n', pos: 65 },
      { k: 'op', v: '>=', pos: 67 },
      { k: 'num', v: 2.5, pos: 70 },
      { k: 'op', v: ';', pos: 73 },
      { k: 'eof', pos: 74 },
    ]);
  });

  it('skips comments and reads escapes and doubled quotes in strings', () => {
    const tokens = tokenizeHogql("-- a comment\n/* another */ 'it''s \\'x\\'\\n' \"a\"\"b\"");
    expect(tokens).toEqual([
      { k: 'str', v: "it's 'x'\n", pos: 27 },
      { k: 'qident', v: 'a"b', pos: 43 },
      { k: 'eof', pos: 49 },
    ]);
  });

  it('reads a minus sign as an operator, not as part of the number', () => {
    expect(tokenizeHogql('-3').map((t) => t.k)).toEqual(['op', 'num', 'eof']);
  });

  it('refuses unterminated strings and comments and unknown characters', () => {
    expect(queryErrorOf(() => tokenizeHogql("SELECT 'abc"))).toBe(
      'unsupported query in the sandbox: unterminated string at 7',
    );
    expect(queryErrorOf(() => tokenizeHogql('SELECT `abc'))).toBe(
      'unsupported query in the sandbox: unterminated identifier at 7',
    );
    expect(queryErrorOf(() => tokenizeHogql('SELECT 1 /* open'))).toBe(
      'unsupported query in the sandbox: unterminated comment',
    );
    expect(queryErrorOf(() => tokenizeHogql('SELECT {x}'))).toBe(
      'unsupported query in the sandbox: unexpected character "{" at 7',
    );
  });
});

describe('HogQL parser', () => {
  it('parses the daily event count the project runs', () => {
    expect(
      parseHogql(
        "SELECT toDate(timestamp) AS day, count() AS events FROM events WHERE event = 'user signed up' AND timestamp >= toDateTime('2026-11-01') GROUP BY day ORDER BY day DESC LIMIT 10 OFFSET 5",
      ),
    ).toEqual({
      select: [
        { expr: { t: 'call', name: 'toDate', args: [{ t: 'field', chain: ['timestamp'] }] }, alias: 'day' },
        { expr: { t: 'call', name: 'count', args: [] }, alias: 'events' },
      ],
      from: 'events',
      where: {
        t: 'and',
        args: [
          {
            t: 'compare',
            op: '=',
            left: { t: 'field', chain: ['event'] },
            right: { t: 'const', value: 'user signed up' },
          },
          {
            t: 'compare',
            op: '>=',
            left: { t: 'field', chain: ['timestamp'] },
            right: { t: 'call', name: 'toDateTime', args: [{ t: 'const', value: '2026-11-01' }] },
          },
        ],
      },
      groupBy: [{ t: 'field', chain: ['day'] }],
      orderBy: [{ expr: { t: 'field', chain: ['day'] }, desc: true }],
      limit: 10,
      offset: 5,
    });
  });

  it('reads keywords and functions in any case, == and <> as = and !=, IS [NOT] NULL as isNull / isNotNull', () => {
    const { select, from, where } = parseHogql(
      "select COUNT(*) from GROUPS where key == 'a' or NOT properties.plan <> 'x' and properties.seats is not null",
    );
    expect(select).toEqual([{ expr: { t: 'call', name: 'count', args: [] }, alias: undefined }]);
    expect(from).toBe('groups');
    expect(where).toEqual({
      t: 'or',
      args: [
        { t: 'compare', op: '=', left: { t: 'field', chain: ['key'] }, right: { t: 'const', value: 'a' } },
        {
          t: 'and',
          args: [
            {
              t: 'not',
              arg: {
                t: 'compare',
                op: '!=',
                left: { t: 'field', chain: ['properties', 'plan'] },
                right: { t: 'const', value: 'x' },
              },
            },
            { t: 'call', name: 'isNotNull', args: [{ t: 'field', chain: ['properties', 'seats'] }] },
          ],
        },
      ],
    });
  });

  it('parses [NOT] IN lists, negative numbers, NULL / TRUE / FALSE and parentheses', () => {
    expect(parseHogql('SELECT uuid FROM events WHERE (n NOT IN (-1, 2)) AND f IN (NULL, true, FALSE)').where).toEqual({
      t: 'and',
      args: [
        {
          t: 'in',
          negated: true,
          left: { t: 'field', chain: ['n'] },
          list: [
            { t: 'const', value: -1 },
            { t: 'const', value: 2 },
          ],
        },
        {
          t: 'in',
          negated: false,
          left: { t: 'field', chain: ['f'] },
          list: [
            { t: 'const', value: null },
            { t: 'const', value: true },
            { t: 'const', value: false },
          ],
        },
      ],
    });
  });

  it('refuses what the subset does not have, naming it', () => {
    const refused = (sql: string) =>
      queryErrorOf(() => parseHogql(sql)).replace('unsupported query in the sandbox: ', '');
    expect(refused('SELECT * FROM events')).toBe('SELECT *');
    expect(refused('SELECT DISTINCT event FROM events')).toBe('SELECT DISTINCT');
    expect(refused('SELECT event FROM persons')).toBe('only the events and groups tables are simulated (FROM persons)');
    expect(refused('SELECT event FROM events WHERE (SELECT 1) = 1')).toBe('sub-queries');
    expect(refused('SELECT event FROM events WHERE uuid IN (SELECT uuid FROM events)')).toBe(
      'unexpected at 40 (near "SELECT")',
    );
    expect(refused("SELECT event FROM events WHERE event LIKE 'x%'")).toBe('LIKE');
    expect(refused('SELECT uniq(distinct_id) FROM events')).toBe('function uniq()');
    expect(refused('SELECT toDate() FROM events')).toBe('toDate() with 0 argument(s)');
    expect(refused('SELECT event FROM events ORDER BY event NULLS LAST')).toBe('NULLS FIRST / LAST');
    expect(refused('SELECT event FROM events LIMIT 1.5')).toBe('LIMIT must be an integer');
    expect(refused('SELECT event AS from FROM events')).toBe('expected an alias after AS at 21 (near "FROM")');
    expect(refused('SELECT event FROM events HAVING 1')).toBe('unexpected at 25 (near "HAVING")');
  });
});

describe('HogQL runner', () => {
  let state: SandboxState;
  const run = (sql: string) => runHogql(state.records.posthog, sql);

  beforeEach(() => {
    state = new SandboxState(1);
    seedPosthogEvents(state, [
      { event: 'user signed up', distinct_id: 'a', timestamp: '2026-11-01T10:00:00Z', properties: { plan: 'pro' } },
      { event: 'user signed up', distinct_id: 'b', timestamp: '2026-11-01T12:30:00.250Z' },
      { event: 'user signed up', distinct_id: 'c', timestamp: '2026-11-03T09:00:00Z', properties: { plan: 'free' } },
      { event: 'pageview', distinct_id: 'a', timestamp: '2026-11-02T08:00:00Z' },
      {
        event: '$groupidentify',
        distinct_id: 'a',
        timestamp: '2026-11-01T10:00:00Z',
        properties: { $group_type: 'organization', $group_key: 'org-1', $group_set: { name: 'Acme' } },
      },
      {
        event: '$groupidentify',
        distinct_id: 'c',
        timestamp: '2026-11-03T09:00:00Z',
        properties: { $group_type: 'organization', $group_key: 'org-2', $group_set: { name: 'Globex', seats: 3 } },
      },
    ]);
  });

  it('counts events per day, with PostHog-typed columns', () => {
    expect(
      run(
        "SELECT toDate(timestamp) AS day, count() AS signups FROM events WHERE event = 'user signed up' GROUP BY day ORDER BY day",
      ),
    ).toEqual({
      columns: ['day', 'signups'],
      types: [
        ['day', 'Date'],
        ['signups', 'UInt64'],
      ],
      results: [
        ['2026-11-01', 2],
        ['2026-11-03', 1],
      ],
      hasMore: false,
      limit: 100,
      offset: 0,
    });
  });

  it('reads properties as strings (a missing one is null) and writes date-times in UTC', () => {
    const { results } = run(
      "SELECT distinct_id, properties.plan, timestamp FROM events WHERE event = 'user signed up' ORDER BY timestamp",
    );
    expect(results).toEqual([
      ['a', 'pro', '2026-11-01T10:00:00Z'],
      ['b', null, '2026-11-01T12:30:00.250Z'],
      ['c', 'free', '2026-11-03T09:00:00Z'],
    ]);
  });

  it('filters groups by creation time and by a missing property', () => {
    const { results } = run(
      "SELECT key, properties.name FROM groups WHERE created_at >= toDateTime('2026-11-02') AND properties.seats IS NOT NULL",
    );
    expect(results).toEqual([['org-2', 'Globex']]);
    expect(run('SELECT key FROM groups WHERE isNull(properties.seats)').results).toEqual([['org-1']]);
  });

  it('answers one row for an aggregate over no rows, and pages with LIMIT / OFFSET and hasMore', () => {
    expect(run("SELECT count() FROM events WHERE event = 'nothing'").results).toEqual([[0]]);
    const page = run('SELECT distinct_id FROM events ORDER BY timestamp DESC LIMIT 2 OFFSET 1');
    expect(page).toMatchObject({ limit: 2, offset: 1, hasMore: true });
    expect(page.results).toEqual([['c'], ['a']]);
  });

  it('reads a SELECT without FROM from one row, as ClickHouse reads system.one (SELECT 1)', () => {
    expect(run('SELECT 1')).toMatchObject({ results: [[1]], hasMore: false });
    expect(run("SELECT 2 AS two, 'x'").results).toEqual([[2, 'x']]);
    expect(queryErrorOf(() => run('SELECT event'))).toBe(
      'unsupported query in the sandbox: unknown column event in one',
    );
  });

  it('refuses a column neither grouped nor aggregated', () => {
    expect(queryErrorOf(() => run('SELECT event, count() FROM events'))).toBe(
      'unsupported query in the sandbox: event is neither in GROUP BY nor in an aggregate function',
    );
  });
});
