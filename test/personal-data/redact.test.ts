import { MockActivityEnvironment } from '@temporalio/testing';
import { LogTimestamp } from '@temporalio/worker';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEnrichmentActivities } from '../../src/activities/enrichment';
import { createWriteActivities } from '../../src/activities/writes';
import { DEV_ADMIN_TOKEN, DEV_PII_HASH_KEY, DEV_WEBHOOK_SECRET, LIVE_CREDENTIALS, loadConfig } from '../../src/config';
import { envSchema, isSecretVariable } from '../../src/config/variables';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { intakeLoggerOptions, redactConsole, redactingTemporalLogger } from '../../src/logging';
import { createRedactor, EMAIL_MASK, SECRET_MASK, withoutEmails } from '../../src/redact';

const SECRET = 'vitally-key-0123456789abcdef';

describe('the redactor', () => {
  const redactor = createRedactor([SECRET, 'short', undefined]);

  it('masks emails, plain, upper-case and URL-encoded', () => {
    expect(redactor.text('signup of Ana.Lopez+x@Acme.COM failed')).toBe(`signup of ${EMAIL_MASK} failed`);
    expect(redactor.text('GET /find?email=ana%40acme.com&x=1')).toBe(`GET /find?email=${EMAIL_MASK}&x=1`);
    expect(redactor.text('twice encoded b%2540c.io')).toBe(`twice encoded ${EMAIL_MASK}`);
    expect(redactor.text('over quota (402)')).toBe('over quota (402)');
    // Temporal's worker identity is `<pid>@<host>`, no email.
    expect(redactor.text("identity: '4733@vm'")).toBe("identity: '4733@vm'");
  });

  it('masks every configured secret as it is, JSON-escaped and URL-encoded; short values are left', () => {
    const quoted = 'tok"en\\with/odd&chars=1';
    const r = createRedactor([quoted]);
    expect(r.text(`key ${quoted}`)).toBe(`key ${SECRET_MASK}`);
    expect(r.text(JSON.stringify({ key: quoted }))).toBe(`{"key":"${SECRET_MASK}"}`);
    expect(r.text(`?key=${encodeURIComponent(quoted)}`)).toBe(`?key=${SECRET_MASK}`);
    expect(redactor.text(`Vitally rejected ${SECRET}`)).toBe(`Vitally rejected ${SECRET_MASK}`);
    expect(redactor.text('a short word')).toBe('a short word');
  });

  it('masks the longest secret first, so one that contains another goes whole', () => {
    const r = createRedactor(['abcdef', 'abcdef-ghijkl']);
    expect(r.text('x abcdef-ghijkl y abcdef')).toBe(`x ${SECRET_MASK} y ${SECRET_MASK}`);
  });

  it('masks credential headers, JSON or util.inspect, whatever their value', () => {
    const json = JSON.stringify({ headers: { authorization: 'Bearer not-a-known-one', 'x-clay-secret': 'abc' } });
    expect(JSON.parse(redactor.text(json))).toEqual({
      headers: { authorization: SECRET_MASK, 'x-clay-secret': SECRET_MASK },
    });
    expect(redactor.text("{ cookie: 'sid=123', accept: 'json' }")).toBe(`{ cookie: '${SECRET_MASK}', accept: 'json' }`);
  });

  it('keeps a JSON line valid when an email sits next to an escape', () => {
    const line = JSON.stringify({ msg: 'refused "ana@acme.com"\nnext', list: ['b@c.io'] });
    const out = redactor.text(line);
    expect(JSON.parse(out)).toEqual({ msg: `refused "${EMAIL_MASK}"\nnext`, list: [EMAIL_MASK] });
  });

  it('withoutEmails leaves secrets to the configured redactor', () => {
    expect(withoutEmails(`${SECRET} ana@acme.com`)).toBe(`${SECRET} ${EMAIL_MASK}`);
  });
});

describe('the secrets of the configuration', () => {
  it('are the values of the variables the schema names as secrets', () => {
    const names = Object.keys(envSchema.shape).filter(isSecretVariable);
    // Every live credential but the two identifiers, and every bearer secret of the intake.
    const identifiers = ['SALESFORCE_CLIENT_ID', 'POSTHOG_PROJECT_ID'];
    for (const name of Object.values(LIVE_CREDENTIALS).flat()) {
      expect(names.includes(name), name).toBe(!identifiers.includes(name));
    }
    for (const name of [
      'WEBHOOK_SECRET',
      'ADMIN_TOKEN',
      'CLAY_CALLBACK_SECRET',
      'METRICS_TOKEN',
      'PII_HASH_KEY',
      'PAYLOAD_CODEC_KEYS',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).toEqual(
      expect.arrayContaining(['SALESFORCE_PASSWORD', 'TEMPORAL_API_KEY', 'OUTGOING_WEBHOOK_SECRET']),
    );
    expect(names).not.toContain('DATABASE_URL');
    expect(names).not.toContain('TEMPORAL_TLS_CLIENT_KEY_PATH');
  });

  it('hold each payload codec key as written, besides the whole PAYLOAD_CODEC_KEYS value', () => {
    const k1 = Buffer.alloc(32, 7).toString('base64');
    const k2 = Buffer.alloc(32, 9).toString('base64');
    const value = `k2:${k2},k1:${k1}`;
    const { secrets } = loadConfig({ PAYLOAD_CODEC_KEYS: value });
    expect(secrets).toEqual(expect.arrayContaining([value, k1, k2]));
  });

  it('hold the values set, the sandbox defaults standing in for unset ones, and the database password', () => {
    const config = loadConfig({
      VITALLY_API_KEY: SECRET,
      SALESFORCE_PASSWORD: 'sf-password-123',
      OUTGOING_WEBHOOK_URLS: 'https://hooks.example.com/in?token=abcdef123',
      DATABASE_URL: 'postgres://app:p%40ss-word@db.internal:5432/ledger',
    });
    expect(config.secrets).toEqual(
      expect.arrayContaining([
        SECRET,
        'sf-password-123',
        'https://hooks.example.com/in?token=abcdef123',
        DEV_WEBHOOK_SECRET,
        DEV_ADMIN_TOKEN,
        DEV_PII_HASH_KEY,
        'p%40ss-word',
        'p@ss-word',
      ]),
    );
    expect(config.secrets).not.toContain('db.internal');
  });
});

describe('the loggers', () => {
  const config = { logLevel: 'debug' as const, secrets: [SECRET] };

  it("redact every line of the starter's pino logger, credential headers cut", async () => {
    const lines: string[] = [];
    const app = Fastify({ logger: intakeLoggerOptions(config, (line) => lines.push(line)) });
    app.log.info({ user: { email: 'ana@acme.com' }, key: SECRET }, 'signup of ana@acme.com');
    app.log.error({ err: new Error(`refused ana@acme.com with ${SECRET}`) }, 'failed');
    app.log.info({ upstream: { headers: { authorization: 'Bearer whatever-it-is' } } }, 'request');
    await app.close();
    const text = lines.join('');
    expect(text).not.toMatch(/ana@acme\.com/i);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('whatever-it-is');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ msg: `signup of ${EMAIL_MASK}`, user: { email: EMAIL_MASK }, key: SECRET_MASK });
    expect(parsed[1]).toMatchObject({ err: { message: `refused ${EMAIL_MASK} with ${SECRET_MASK}` } });
    expect(parsed[2]).toMatchObject({ upstream: { headers: { authorization: SECRET_MASK } } });
  });

  it("write the starter's lines readable under LOG_FORMAT=pretty (npm start), made from the redacted JSON", async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: intakeLoggerOptions({ ...config, logFormat: 'pretty' }, (line) => lines.push(line), false),
    });
    app.get('/find', () => ({ ok: true }));
    await app.inject({ url: `/find?email=ana%40acme.com&token=${SECRET}` });
    app.log.info({ user: { email: 'ana@acme.com' }, key: SECRET }, 'signup of ana@acme.com');
    app.log.error({ err: new Error(`refused ana@acme.com with ${SECRET}`) }, 'failed');
    await app.close();
    // One readable line per entry (time, level, message, then the other fields), an error's stack below it; no JSON.
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO|WARN|ERROR): \S.*\n/);
      if (!line.startsWith('ERROR', 15)) expect(line.slice(0, -1)).not.toContain('\n');
      expect(() => JSON.parse(line) as unknown).toThrow();
    }
    const request = lines.find((l) => l.includes('incoming request'));
    expect(request).toContain(`"url":"/find?email=${EMAIL_MASK}&token=${SECRET_MASK}"`);
    expect(lines).toContainEqual(expect.stringContaining(`INFO: signup of ${EMAIL_MASK} {`));
    expect(lines).toContainEqual(expect.stringContaining('ERROR: failed'));
    const text = lines.join('');
    expect(text).toContain(`refused ${EMAIL_MASK} with ${SECRET_MASK}`);
    expect(text).not.toMatch(/ana(@|%40)acme\.com/i);
    expect(text).not.toContain(SECRET);
    // No terminal, no colours: nothing but text in a file or a pipe.
    expect(text).not.toContain('\u001b[');
  });

  it('log nothing at LOG_LEVEL=silent', () => {
    expect(intakeLoggerOptions({ logLevel: 'silent', secrets: [] })).toBe(false);
    const lines: string[] = [];
    redactingTemporalLogger('silent', createRedactor([]), (l) => lines.push(l)).error('boom');
    expect(lines).toEqual([]);
  });

  it("redact the worker's Temporal lines, message and meta, at LOG_LEVEL", () => {
    const lines: string[] = [];
    const logger = redactingTemporalLogger('info', createRedactor(config.secrets), (l) => lines.push(l));
    logger.debug('not at info');
    logger.warn('Activity failed for ana@acme.com', {
      [LogTimestamp]: 1_764_633_600_000_000_000n,
      error: new Error(`Vitally rejected ${SECRET} for bob@acme.com`),
      workflowId: 'signup-org-1',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^2025-12-02T00:00:00\.000Z \[WARN\] Activity failed for <email> /);
    expect(lines[0]).toContain(`Vitally rejected ${SECRET_MASK} for ${EMAIL_MASK}`);
    expect(lines[0]).toContain('signup-org-1');
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).not.toMatch(/@acme\.com/);
  });

  describe('the console', () => {
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const saved = methods.map((m) => [m, console[m].bind(console)] as const);
    afterEach(() => {
      for (const [m, original] of saved) console[m] = original;
    });

    it('is redacted line by line', () => {
      const written: string[] = [];
      for (const m of methods) console[m] = (...args: unknown[]) => written.push(`${m}: ${args.join(' ')}`);
      redactConsole(createRedactor([SECRET]));
      console.log('schedule %s for %s', 'daily', 'ana@acme.com');
      console.error(new Error(`refused ${SECRET}`));
      expect(written[0]).toBe(`log: schedule daily for ${EMAIL_MASK}`);
      expect(written[1]).toMatch(new RegExp(`^error: Error: refused ${SECRET_MASK}`));
      expect(written.join('\n')).not.toContain(SECRET);
    });
  });
});

describe('outside systems’ error texts, in the activities', () => {
  const KEY = 'provider-key-7d1e9a3c5b2f';
  const redact = createRedactor([KEY]);
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
  });
  afterAll(async () => {
    await ledger?.close();
  });

  it('a provider refusal quoting our key and the email reaches the failure and the archive masked', async () => {
    const archived: unknown[] = [];
    const config = loadConfig({});
    const activities = createEnrichmentActivities({
      ledger: {
        signups: { getSignup: () => Promise.resolve({ email: 'ada@example.com' }) },
        providerArchive: {
          archiveProviderResponse: (r: { body: unknown }) => Promise.resolve(archived.push(r.body)),
          providerAnswers: () => Promise.resolve([]),
        },
      } as unknown as Ledger,
      providers: {
        clearbit: {
          company: () => Promise.reject(new Error('not asked')),
          person: () =>
            Promise.resolve({
              kind: 'auth_failed',
              provider: 'clearbit',
              status: 400,
              detail: `key ${KEY} cannot look up ada@example.com`,
            }),
        },
      },
      scoring: config.scoring,
      enrichment: { ...config.enrichment, asyncResultTimeoutMinutes: 60 },
      redact,
    });
    const call = new MockActivityEnvironment().run(() =>
      activities.callProvider({ provider: 'clearbit', signupId: 's-1', lookup: 'person' }),
    );
    await expect(call).rejects.toMatchObject({
      message: `clearbit refused our configuration: key ${SECRET_MASK} cannot look up ${EMAIL_MASK}; an operator must fix it`,
    });
    expect(JSON.stringify(archived)).not.toContain(KEY);
    expect(JSON.stringify(archived)).toContain(SECRET_MASK);
  });

  it('a destination refusal quoting our key and the email reaches the failure and destination_writes masked', async () => {
    const { signup } = await ledger.signups.recordSignup({
      source: 'api',
      eventUuid: undefined,
      dedupeKey: `redact-${Date.now()}`,
      workflowId: 'signup-redact',
      email: 'ada@example.com',
      emailDomain: 'example.com',
      distinctId: undefined,
      personId: undefined,
      name: undefined,
      organizationId: 'org-redact',
      organizationName: undefined,
      signedUpAt: new Date().toISOString(),
      status: 'received',
      statusReason: undefined,
      payload: {},
    });
    const refusal = { kind: 'rejected' as const, detail: `Vitally refused ada@example.com (key ${KEY})` };
    const activities = createWriteActivities({
      ledger,
      destinations: {
        vitally: { writeEnrichment: () => Promise.resolve(refusal), writeAccount: () => Promise.resolve(refusal) },
      },
      retry: { initialMs: 1000, maxMs: 1000, giveUpMs: 1000 },
      redact,
    });
    const input = { signupId: signup.id, idempotencyKey: `${signup.id}:vitally:x` };
    await expect(new MockActivityEnvironment().run(() => activities.writeToVitally(input))).rejects.toMatchObject({
      type: 'DestinationRejected',
      message: `Vitally refused ${EMAIL_MASK} (key ${SECRET_MASK})`,
    });
    const write = await ledger.destinationWrites.getDestinationWrite('vitally', input.idempotencyKey);
    expect(write).toMatchObject({ state: 'failed', detail: `Vitally refused ${EMAIL_MASK} (key ${SECRET_MASK})` });
  });
});
