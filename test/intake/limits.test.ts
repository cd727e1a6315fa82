import { describe, expect, it } from 'vitest';
import { canonicalEmail } from '../../src/domain/email';
import { checkJsonLimits, INTAKE_LIMITS, readJsonBody, UnreadableBodyError } from '../../src/intake/limits';
import { classifyLedgerError } from '../../src/ledger/errors';

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

const readError = (contentType: string | undefined, raw: Buffer | string): UnreadableBodyError => {
  try {
    readJsonBody(contentType, typeof raw === 'string' ? Buffer.from(raw) : raw);
  } catch (err) {
    if (err instanceof UnreadableBodyError) return err;
    throw err;
  }
  throw new Error('the body was read');
};

describe('checkJsonLimits', () => {
  it('takes a body nested to the limit and refuses one level more, even thousands deep', () => {
    expect(checkJsonLimits(nested(INTAKE_LIMITS.maxJsonDepth))).toEqual([]);
    expect(checkJsonLimits(nested(INTAKE_LIMITS.maxJsonDepth + 1))[0]!.message).toMatch(/nested deeper than 32/);
    expect(checkJsonLimits(nested(100_000))).toHaveLength(1);
  });

  it('refuses NUL characters and lone surrogates in values and keys, and __proto__ keys, with their paths', () => {
    expect(checkJsonLimits({ event: { properties: { x: 'a\u0000b' } } })).toEqual([
      { path: 'event.properties.x', message: 'a string contains a NUL character' },
    ]);
    expect(checkJsonLimits({ list: ['ok', '\uD800'] })).toEqual([
      { path: 'list.1', message: 'a string contains an unpaired UTF-16 surrogate' },
    ]);
    expect(checkJsonLimits({ ['k\u0000']: 1 })[0]!.message).toBe('a key contains a NUL character');
    expect(checkJsonLimits(JSON.parse('{"a":{"__proto__":{"polluted":true}}}'))).toEqual([
      { path: 'a.__proto__', message: 'the key "__proto__" is not allowed' },
    ]);
    // Paired surrogates (an emoji), other control characters and `constructor` keys are data like any other.
    expect(checkJsonLimits({ constructor: 'x', emoji: '🚀', tab: 'a\tb', bell: '\u0007' })).toEqual([]);
  });
});

describe('readJsonBody', () => {
  it('reads JSON sent as application/json, a +json type, text/plain, or without a content type', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/vnd.x+json',
      'text/plain',
      undefined,
    ]) {
      expect(readJsonBody(type, Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    }
  });

  it('answers 415 for other media types and charsets, 400 for invalid UTF-8 or JSON', () => {
    expect(readError('application/x-www-form-urlencoded', 'a=1').statusCode).toBe(415);
    expect(readError('application/json; charset=latin1', '{}').statusCode).toBe(415);
    const badUtf8 = readError('application/json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    expect(badUtf8).toMatchObject({
      statusCode: 400,
      issues: [{ path: '(body)', message: 'body is not valid UTF-8' }],
    });
    expect(readError('application/json', '{"a": ').statusCode).toBe(400);
    expect(readError('application/json', `{"a":"${'\\u0000'}"}`).issues[0]!.message).toMatch(/NUL/);
  });
});

describe('canonicalEmail', () => {
  it('is one form for Unicode, punycode, upper case and a trailing dot', () => {
    for (const raw of ['José@Bücher.de', 'josé@xn--bcher-kva.de', 'JOSÉ@BÜCHER.DE.']) {
      expect(canonicalEmail(raw)).toEqual({ email: 'josé@xn--bcher-kva.de', domain: 'xn--bcher-kva.de' });
    }
    expect(canonicalEmail('ana@ＡＣＭＥ.com')).toEqual({ email: 'ana@acme.com', domain: 'acme.com' });
  });

  it.each([
    ['a@b@company.com', /exactly one @/],
    ['x@victim.com?x=1', /not a valid hostname/],
    ['x@victim.com#frag', /not a valid hostname/],
    ['x@victim.com/../a', /not a valid hostname/],
    ['x@ac\u200Bme.com', /invisible/],
    ['x@acme.com\u202E', /invisible/],
    ['x\u0001@acme.com', /control/],
    ['x\u{E0041}@acme.com', /invisible/],
    [`x@${'a'.repeat(64)}.com`, /longer than 63/],
    [`x@${Array.from({ length: 60 }, () => 'abcd').join('.')}.com`, /longer than 253/],
    [`${'x'.repeat(65)}@acme.com`, /longer than 64/],
    [`${'x'.repeat(60)}@${Array.from({ length: 5 }, () => 'a'.repeat(40)).join('.')}.com`, /longer than 254/],
    ['x@127.0.0.1', /not a valid hostname/],
    ['x@localhost', /no top-level domain/],
    ['x@-acme.com', /not a valid hostname/],
  ])('refuses %j', (raw, problem) => {
    const result = canonicalEmail(raw);
    expect('problem' in result && result.problem).toMatch(problem);
  });
});

describe('classifyLedgerError', () => {
  it('tells an unreachable database from a refused value', () => {
    expect(classifyLedgerError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'unavailable',
    );
    expect(classifyLedgerError(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(
      'unavailable',
    );
    expect(classifyLedgerError(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(classifyLedgerError(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(
      'unavailable',
    );
    expect(classifyLedgerError(Object.assign(new Error('invalid byte sequence'), { code: '22021' }))).toBe(
      'refused_value',
    );
    expect(classifyLedgerError(Object.assign(new Error('stack depth limit exceeded'), { code: '54001' }))).toBe(
      'refused_value',
    );
    expect(classifyLedgerError(new TypeError('x is undefined'))).toBe('other');
  });
});
