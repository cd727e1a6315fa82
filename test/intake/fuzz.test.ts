import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createIntake, type Intake } from '../../src/starter';
import { CLAY_SECRET, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startBareIntake, startWorker } from '../support/stack';

/**
 * Property-based fuzzing of the three intake endpoints over real HTTP: every body gets a 2xx or a 4xx, the process
 * stays up, the ledger holds a row only for a 202, and accepted signups settle when run through the worker.
 * FUZZ_RUNS (default 10,000) bodies per run; FUZZ_SEED replays a run (the seed is printed).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 16;
const SIGNUP_EVENT = 'user signed up';

interface Delivery {
  kind: string;
  path: '/webhooks/posthog' | '/signups' | '/webhooks/clay';
  contentType: string | undefined;
  body: Buffer;
}

// ---- the classes of odd input -------------------------------------------------------------------------------

const lone = fc.constantFrom('\uD800', '\uDFFF', 'a\uDBFFb');
const control = fc.constantFrom('\u0000', '\u0001', '\u0007', '\u001B', '\u007F', '\u0085', '\t', '\n');
const invisible = fc.constantFrom('\u200B', '\u200D', '\u2060', '\uFEFF', '\u202E', '\u2066', '\u00AD', '\u034F');
const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const oddString = fc.oneof(
  fc.string({ maxLength: 30 }),
  unicode,
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.oneof(lone, control, invisible), fc.string({ maxLength: 10 }))
    .map((p) => p.join('')),
  fc.integer({ min: 150, max: 6000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('', ' ', '__proto__', 'constructor', 'null', '../..', '%2e%2e', 'a/b?c#d'),
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const idnLabel = fc.constantFrom('bücher', 'ＡＣＭＥ', '例え', 'xn--bcher-kva', 'straße', 'ÖBB', 'xn--zz', 'münchen');
const domain = fc.oneof(
  fc.tuple(label, fc.constantFrom('com', 'io', 'de', 'co.uk')).map(([l, tld]) => `${l}.${tld}`),
  fc.tuple(idnLabel, fc.constantFrom('com', 'de', 'jp')).map(([l, tld]) => `${l}.${tld}`),
  fc.constantFrom('gmail.com', 'quorvalis.com', 'lumenforge.io', 'company.com.', 'COMPANY.COM'),
  fc.integer({ min: 60, max: 300 }).map((n) => `${'d'.repeat(n)}.com`),
  fc.constantFrom('victim.com?x=1', 'victim.com#x', 'victim.com/../x', 'a..b.com', '-x.com', '1.2.3.4', 'localhost'),
);
const email = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(label, domain).map(([l, d]) => `${l}@${d}`) },
  { weight: 1, arbitrary: fc.tuple(label, invisible, domain).map(([l, i, d]) => `${l}@${i}${d}`) },
  { weight: 1, arbitrary: fc.tuple(label, domain).map(([l, d]) => `${l}@b@${d}`) },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: wrongType },
);
const timestamp = fc.oneof(
  { weight: 6, arbitrary: fc.date({ min: new Date('2001-01-01'), max: new Date(), noInvalidDate: true }) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '+275760-09-13T00:00:00Z',
      '-271821-04-20T00:00:00Z',
      '1969-12-31T23:59:59Z',
      'yesterday',
    ),
  },
  { weight: 1, arbitrary: oddString },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 8 });
/** Mostly a valid value; now and then an odd string or a value of the wrong type. */
const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: oddString }, { weight: 1, arbitrary: wrongType });
const id = fc.oneof(
  { weight: 12, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: fc.integer() },
);
const isoTime = timestamp.map((t) => (t instanceof Date ? t.toISOString() : t));
const props = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });

/** Shaped like PostHog's webhook payload, each field valid, odd or of the wrong type. */
const posthogPayload = fc
  .record({
    uuid: id,
    event: fc.oneof({ weight: 12, arbitrary: fc.constant(SIGNUP_EVENT) }, { weight: 1, arbitrary: oddString }),
    distinctId: id,
    timestamp: field(isoTime),
    personEmail: maybe(email),
    eventEmail: maybe(email),
    name: maybe(field(fc.constantFrom('Ada Quillon', 'Zoë Ångström', '李小龙', 'Ada "the" Q'))),
    orgId: maybe(id),
    orgName: maybe(field(fc.constantFrom('Quorvalis', 'Bücher GmbH', 'ACME, Inc.'))),
    extra: props,
  })
  .map((f) => {
    const base = posthogSignup() as unknown as Record<string, Record<string, unknown>>;
    const event = base.event as Record<string, unknown>;
    const person = base.person as Record<string, Record<string, unknown>>;
    Object.assign(event, { uuid: f.uuid, event: f.event, distinct_id: f.distinctId, timestamp: f.timestamp });
    Object.assign(event.properties as object, f.extra, { email: f.eventEmail });
    Object.assign(person.properties!, { email: f.personEmail, name: f.name });
    if (f.orgId === undefined) delete base.groups;
    else
      Object.assign((base.groups as Record<string, Record<string, unknown>>).organization!, {
        id: f.orgId,
        properties: { name: f.orgName },
      });
    return JSON.parse(JSON.stringify(base)) as unknown;
  });

const directSignup = fc.record(
  {
    email: field(email),
    name: field(fc.string({ minLength: 1, maxLength: 20 })),
    organizationId: field(fc.uuid()),
    organizationName: field(fc.constantFrom('Quorvalis', 'Bücher GmbH')),
    signedUpAt: field(isoTime),
    source: field(fc.constantFrom('website', 'import')),
    extra: wrongType,
  },
  { requiredKeys: ['email'] },
);

/** A valid payload with a `__proto__`, `constructor` or `prototype` key written into one of its objects. */
const prototypeKeys = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.nat(), fc.boolean())
  .map(([key, at, direct]) => {
    const text = JSON.stringify(
      direct ? { email: 'ada@quorvalis.com', name: 'Ada' } : { ...posthogSignup(), uuid: randomUUID() },
    );
    const opens = [...text.matchAll(/\{/g)].map((m) => m.index);
    const i = opens[at % opens.length]! + 1;
    const injected = `${text.slice(0, i)}"${key}":{"isAdmin":true,"email":"x@evil.com"}${text[i] === '}' ? '' : ','}${text.slice(i)}`;
    return { body: Buffer.from(injected), direct };
  });

const clayResult = fc.record(
  {
    request_id: fc.oneof(fc.uuid(), oddString),
    workflow_id: fc.oneof(fc.constant('signup-x'), oddString),
    company_found: fc.oneof(fc.boolean(), wrongType),
    company_domain: fc.oneof(domain, wrongType),
    company_employee_count: fc.oneof(fc.integer(), wrongType),
    company_industry_tags: fc.oneof(fc.array(oddString, { maxLength: 3 }), wrongType),
  },
  { requiredKeys: [] },
);

/** Nested objects and arrays, up to thousands deep (written as text: JSON.stringify itself would overflow). */
const deep = fc.tuple(fc.integer({ min: 20, max: 5000 }), fc.boolean()).map(([depth, arrays]) => {
  const [open, close] = arrays ? ['[', ']'] : ['{"a":', '}'];
  const head = `{"event":{"uuid":"${randomUUID()}","event":"${SIGNUP_EVENT}","distinct_id":"d","properties":{"deep":`;
  return Buffer.from(`${head}${open.repeat(depth)}"leaf"${close.repeat(depth)}}}}`);
});

/** A valid payload's bytes, then bytes flipped, inserted (NUL, 0xFF, quotes, braces) and cut. */
const mutatedBytes = fc
  .tuple(
    fc.array(
      fc.record({
        at: fc.nat(),
        op: fc.constantFrom('flip', 'insert', 'delete'),
        byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0xff, 0xc0, 0x22, 0x7b, 0x5c)),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    fc.boolean(),
  )
  .map(([ops, direct]) => {
    const bytes = [
      ...Buffer.from(
        JSON.stringify(direct ? { email: 'ada@quorvalis.com', organizationId: 'org-1', name: 'Ada' } : posthogSignup()),
      ),
    ];
    for (const { at, op, byte } of ops) {
      const i = at % (bytes.length + 1);
      if (op === 'flip') bytes[Math.min(i, bytes.length - 1)] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else bytes.splice(i, 1);
    }
    return { body: Buffer.from(bytes), direct };
  });

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      'application/octet-stream',
      'text/html',
      'APPLICATION/JSON',
      ';;',
    ),
  },
);

const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null');
/** A body already written as bytes, to the direct or the PostHog endpoint. */
const raw =
  (kind: string) =>
  ({ body, direct }: { body: Buffer; direct: boolean }): Delivery => ({
    kind,
    path: direct ? '/signups' : '/webhooks/posthog',
    contentType: 'application/json',
    body,
  });
const delivery: fc.Arbitrary<Delivery> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(posthogPayload, contentType)
      .map(([b, t]) => ({ kind: 'posthog-shaped', path: '/webhooks/posthog', contentType: t, body: json(b) }) as const),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(directSignup, contentType)
      .map(([b, t]) => ({ kind: 'direct-shaped', path: '/signups', contentType: t, body: json(b) }) as const),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(clayResult, contentType)
      .map(([b, t]) => ({ kind: 'clay-shaped', path: '/webhooks/clay', contentType: t, body: json(b) }) as const),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.jsonValue(), fc.constantFrom('/webhooks/posthog', '/signups', '/webhooks/clay'))
      .map(([b, path]) => ({ kind: 'generic-json', path, contentType: 'application/json', body: json(b) })),
  },
  { weight: 1, arbitrary: prototypeKeys.map(raw('prototype-keys')) },
  { weight: 1, arbitrary: deep.map((body) => raw('deep')({ body, direct: false })) },
  { weight: 3, arbitrary: mutatedBytes.map(raw('bytes')) },
);

// ---- the run ------------------------------------------------------------------------------------------------

interface Outcome {
  delivery: Delivery;
  status: number;
  answer: Record<string, unknown>;
}

describe(`intake fuzzing (${RUNS} bodies, seed ${SEED})`, () => {
  let ledger: Ledger;
  let app: FastifyInstance;
  let base: string;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    // The intake alone (no outbox): recorded signups stay in the ledger, where their count is checked.
    ({ app, base } = await startBareIntake(ledger));
  });

  afterAll(async () => {
    await app?.close();
    await ledger?.close();
  });

  const send = async (d: Delivery): Promise<Outcome> => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${d.path === '/webhooks/clay' ? CLAY_SECRET : SECRET}`,
    };
    if (d.contentType !== undefined) headers['content-type'] = d.contentType;
    const res = await fetch(`${base}${d.path}`, { method: 'POST', headers, body: d.body });
    const text = await res.text();
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {
      answer = { unparsed: text.slice(0, 200) };
    }
    return { delivery: d, status: res.status, answer };
  };

  it('answers every body with 2xx or 4xx, stays up, and records a row only for a 202', async () => {
    console.log(`intake fuzz: ${RUNS} bodies, seed ${SEED} (FUZZ_SEED=${SEED} replays it)`);
    const deliveries = fc.sample(delivery, { numRuns: RUNS, seed: SEED });
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < deliveries.length) outcomes.push(await send(deliveries[next++]!));
      }),
    );
    expect(outcomes).toHaveLength(RUNS);

    const serverErrors = outcomes.filter((o) => o.status < 200 || o.status >= 500);
    const show = (o: Outcome) =>
      `${o.status} ${o.delivery.path} ${o.delivery.kind} ${JSON.stringify(o.answer)} ${o.delivery.body.toString('latin1').slice(0, 300)}`;
    expect(serverErrors.map(show)).toEqual([]);
    for (const o of outcomes.filter((x) => x.status === 400)) expect(o.answer.issues, show(o)).toBeInstanceOf(Array);

    const tally: Record<string, number> = {};
    for (const o of outcomes) {
      const key = `${o.delivery.kind} ${o.status}${typeof o.answer.status === 'string' ? ` ${o.answer.status}` : ''}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    console.log('intake fuzz answers:', tally);

    // The ledger: exactly the signups answered 202 accepted/skipped, none of the refused ones.
    const recorded = new Set(
      outcomes
        .filter((o) => o.status === 202 && (o.answer.status === 'accepted' || o.answer.status === 'skipped'))
        .filter((o) => o.delivery.path !== '/webhooks/clay')
        .map((o) => o.answer.signupId as string),
    );
    const counts = await ledger.signups.statusCounts();
    const rows = Object.values(counts.byStatus).reduce((a, b) => a + b, 0);
    expect(rows).toBe(recorded.size);
    for (const o of outcomes.filter((x) => x.status === 202 && x.answer.status === 'duplicate')) {
      expect(recorded.has(o.answer.signupId as string), show(o)).toBe(true);
    }
    // Each class reached the ledger at least once and was refused at least once: the fuzzer exercised both paths.
    expect(outcomes.some((o) => o.delivery.kind === 'posthog-shaped' && o.answer.status === 'accepted')).toBe(true);
    expect(outcomes.some((o) => o.delivery.kind === 'posthog-shaped' && o.status === 400)).toBe(true);
    expect(outcomes.some((o) => o.delivery.kind === 'direct-shaped' && o.answer.status === 'accepted')).toBe(true);
    expect(outcomes.some((o) => o.status === 415)).toBe(true);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 240_000);

  describe('a sample of the accepted signups, through the worker', () => {
    let sandbox: RunningSandbox | undefined;
    let worker: RunningWorker | undefined;
    let intake: Intake | undefined;
    let sampleLedger: Ledger | undefined;

    afterAll(async () => {
      await intake?.close();
      await worker?.shutdown();
      await sampleLedger?.close();
      await sandbox?.close();
    });

    it('all settle', async () => {
      const accepted = outcomes.filter((o) => o.status === 202 && o.answer.status === 'accepted');
      const byWorkflow = new Map<string, Outcome>();
      for (const o of accepted) byWorkflow.set(o.answer.workflowId as string, o);
      const sample = [...byWorkflow.values()].slice(0, 12);
      expect(sample.length).toBeGreaterThan(0);

      sandbox = await startSandbox();
      // Clearbit and Harmonic only: the sample is about settling odd input, not about Clay's callback wait.
      const config = testConfig({ SANDBOX_URL: sandbox.url, ENRICHMENT_PROVIDERS: 'clearbit,harmonic' });
      sampleLedger = await openLedger({ databaseUrl: undefined });
      worker = await startWorker(config, sampleLedger);
      intake = createIntake(config, sampleLedger, { outboxPollMs: 200 });
      base = await intake.app.listen({ host: '127.0.0.1', port: 0 });

      const ids: string[] = [];
      for (const o of sample) {
        const again = await send(o.delivery);
        expect(again.status).toBe(202);
        ids.push(again.answer.signupId as string);
      }
      const settled = new Set(['enriched', 'partial', 'not_found', 'skipped', 'undeliverable', 'failed']);
      await eventually(async () => {
        const rows = await Promise.all(ids.map((i) => sampleLedger!.signups.getSignup(i)));
        return rows.every((r) => r && settled.has(r.status) && (r.enrichedAt !== null || r.status !== 'enriched'))
          ? true
          : undefined;
      }, 90_000);
      const rows = await Promise.all(ids.map((i) => sampleLedger!.signups.getSignup(i)));
      expect(rows.filter((r) => r?.status === 'failed').map((r) => r?.statusReason)).toEqual([]);
    });
  });
});
