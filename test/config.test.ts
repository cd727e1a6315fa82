import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEV_ADMIN_TOKEN,
  DEV_CLAY_CALLBACK_SECRET,
  DEV_WEBHOOK_SECRET,
  loadConfig,
  MIN_SECRET_LENGTH,
} from '../src/config';
import { createDestinationClients } from '../src/composition';
import { configError } from './support/config';

/** Live mode's bearer secrets, long enough and distinct. */
const STRONG = {
  WEBHOOK_SECRET: 'whsec-0123456789abcdef0123456789',
  ADMIN_TOKEN: 'admin-0123456789abcdef0123456789',
  CLAY_CALLBACK_SECRET: 'clay-0123456789abcdef01234567890',
  PII_HASH_KEY: 'pii-0123456789abcdef0123456789ab',
  PAYLOAD_CODEC_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
};

/** Every credential live mode needs, as placeholders; the secrets strong. */
const LIVE = {
  ...Object.fromEntries(
    [
      'CLEARBIT_API_KEY',
      'HARMONIC_API_KEY',
      'CLAY_WEBHOOK_URL',
      'CLAY_WEBHOOK_AUTH',
      'POSTHOG_PROJECT_API_KEY',
      'POSTHOG_PERSONAL_API_KEY',
      'POSTHOG_PROJECT_ID',
      'SALESFORCE_CLIENT_ID',
      'SALESFORCE_CLIENT_SECRET',
      'VITALLY_API_KEY',
      'SLACK_WEBHOOK_URL',
    ].map((n) => [n, 'x']),
  ),
  ...STRONG,
  ENRICHMENT_MODE: 'live',
};

describe('loadConfig', () => {
  it('defaults to sandbox mode with the sandbox base URLs and the embedded ledger', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('sandbox');
    expect(config.providers).toEqual(['clearbit', 'harmonic', 'clay']);
    expect(config.signupEvents).toEqual(['user signed up', 'user_signed_up']);
    expect(config.webhookSecret).toBe(DEV_WEBHOOK_SECRET);
    expect(config.adminToken).toBe(DEV_ADMIN_TOKEN);
    expect(config.clayCallbackSecret).toBe(DEV_CLAY_CALLBACK_SECRET);
    expect(config.metricsToken).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'signup-enrichment',
      external: false,
      // Plaintext, no key: the dev server npm start runs.
      connection: { address: '127.0.0.1:7233', namespace: 'default' },
      source: 'the TEMPORAL_* variables',
      registerSearchAttributes: true,
      // The dashboard's links: the dev server's Web UI.
      uiUrl: 'http://127.0.0.1:8233',
    });
    expect(loadConfig({ TEMPORAL_DEV_UI_PORT: '9233' }).temporal.uiUrl).toBe('http://127.0.0.1:9233');
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com/' }).temporal.uiUrl).toBe(
      'https://temporal.example.com',
    );
    expect(() => loadConfig({ TEMPORAL_UI_URL: 'javascript:alert(1)' })).toThrow(/TEMPORAL_UI_URL/);
    expect(config.systems.clearbit.baseUrl).toBe('http://127.0.0.1:4010/clearbit');
    expect(config.http.port).toBe(3000);
  });

  it('uses the real hosts in live mode and an explicit base URL over both', () => {
    const config = loadConfig({ ...LIVE, HARMONIC_BASE_URL: 'http://127.0.0.1:9999' });
    // No Web UI is assumed live: the dashboard's counts are links only with TEMPORAL_UI_URL.
    expect(config.temporal.uiUrl).toBeUndefined();
    expect(config.systems.clearbit.baseUrl).toBe('https://company.clearbit.com');
    expect(config.systems.harmonic.baseUrl).toBe('http://127.0.0.1:9999');
    expect(config).toMatchObject({
      webhookSecret: STRONG.WEBHOOK_SECRET,
      adminToken: STRONG.ADMIN_TOKEN,
      clayCallbackSecret: STRONG.CLAY_CALLBACK_SECRET,
    });
  });

  it('refuses to start live with an empty, sandbox-default or short secret, naming every one in one message', () => {
    const message = configError({
      ...LIVE,
      WEBHOOK_SECRET: '',
      ADMIN_TOKEN: DEV_ADMIN_TOKEN,
      CLAY_CALLBACK_SECRET: 'c'.repeat(MIN_SECRET_LENGTH - 1),
      METRICS_TOKEN: DEV_WEBHOOK_SECRET,
      OUTGOING_WEBHOOK_URLS: 'https://hooks.example.com/in',
      OUTGOING_WEBHOOK_SECRET: 'sandbox-webhook-secret',
    });
    expect(message.split('\n').filter((l) => l.includes('ENRICHMENT_MODE=live'))).toEqual([
      `  - ENRICHMENT_MODE=live needs secrets of at least ${MIN_SECRET_LENGTH} characters that are not a sandbox default: ` +
        'WEBHOOK_SECRET (unset), ADMIN_TOKEN (a sandbox default), ' +
        `CLAY_CALLBACK_SECRET (shorter than ${MIN_SECRET_LENGTH} characters), METRICS_TOKEN (a sandbox default), ` +
        'OUTGOING_WEBHOOK_SECRET (a sandbox default)',
    ]);
    // Names only: no value reaches the message.
    for (const value of [DEV_ADMIN_TOKEN, DEV_WEBHOOK_SECRET, 'sandbox-webhook-secret', 'ccccc']) {
      expect(message).not.toContain(value);
    }
  });

  it('refuses one live secret shared by two callers, and needs no Clay secret without Clay', () => {
    const shared = configError({ ...LIVE, ADMIN_TOKEN: STRONG.WEBHOOK_SECRET });
    expect(shared).toContain('ENRICHMENT_MODE=live needs a different value for each of WEBHOOK_SECRET, ADMIN_TOKEN');
    expect(shared).not.toContain(STRONG.WEBHOOK_SECRET);

    const { CLAY_CALLBACK_SECRET: _unused, ...withoutClaySecret } = LIVE;
    expect(configError(withoutClaySecret)).toContain('CLAY_CALLBACK_SECRET (unset)');
    const noClay = loadConfig({ ...withoutClaySecret, ENRICHMENT_PROVIDERS: 'clearbit,harmonic' });
    expect(noClay.clayCallbackSecret).toBeUndefined();
    // Sandbox mode takes any value, and the defaults when unset.
    expect(loadConfig({ WEBHOOK_SECRET: 'short' }).webhookSecret).toBe('short');
  });

  it('names every missing credential at once in live mode, without values', () => {
    let error: unknown;
    try {
      loadConfig({ ENRICHMENT_MODE: 'live', CLEARBIT_API_KEY: 'sk_live_secret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['WEBHOOK_SECRET', 'HARMONIC_API_KEY', 'SALESFORCE_CLIENT_SECRET', 'SLACK_WEBHOOK_URL']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('CLEARBIT_API_KEY');
    expect(message).not.toContain('sk_live_secret');
  });

  it('rejects malformed values with the variable named', () => {
    expect(() => loadConfig({ PORT: 'eighty', ENRICHMENT_PROVIDERS: 'clearbit,zoominfo' })).toThrow(
      /PORT[\s\S]*ENRICHMENT_PROVIDERS|ENRICHMENT_PROVIDERS[\s\S]*PORT/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://localhost/db' })).toThrow(/DATABASE_URL/);
  });

  it('reads the rolling check: 24 h window, 60 min interval, 10 settled signups to open an incident from one interval', () => {
    expect(loadConfig({}).health).toMatchObject({
      rollingWindowHours: 24,
      checkIntervalMinutes: 60,
      recentMinSignups: 10,
    });
    expect(loadConfig({ HEALTH_RECENT_MIN_SIGNUPS: '25' }).health.recentMinSignups).toBe(25);
    expect(() => loadConfig({ HEALTH_RECENT_MIN_SIGNUPS: '0' })).toThrow(/HEALTH_RECENT_MIN_SIGNUPS/);
    expect(() => loadConfig({ HEALTH_RECENT_MIN_SIGNUPS: 'many' })).toThrow(/HEALTH_RECENT_MIN_SIGNUPS/);
  });

  it("holds each provider's queue to its documented rate times the margin; an unlisted provider is not limited", () => {
    expect(loadConfig({}).providerRates).toEqual({ clearbit: 9, harmonic: 9 });
    expect(
      loadConfig({ PROVIDER_RATE_LIMITS: 'clearbit:10, clay:2.5', PROVIDER_RATE_LIMIT_MARGIN: '0.8' }).providerRates,
    ).toEqual({ clearbit: 8, clay: 2 });
    expect(loadConfig({ PROVIDER_RATE_LIMITS: '' }).providerRates).toEqual({});
    expect(() => loadConfig({ PROVIDER_RATE_LIMITS: 'zoominfo:5' })).toThrow(/PROVIDER_RATE_LIMITS/);
    expect(() => loadConfig({ PROVIDER_RATE_LIMITS: 'clearbit:fast' })).toThrow(/PROVIDER_RATE_LIMITS/);
    expect(() => loadConfig({ PROVIDER_RATE_LIMIT_MARGIN: '1.5' })).toThrow(/PROVIDER_RATE_LIMIT_MARGIN/);
  });

  it('configures the fan-out: sandbox destinations by default, credentials only for the destinations in use', () => {
    const sandbox = loadConfig({});
    expect(sandbox.fanOut.destinations).toEqual(['posthog', 'salesforce', 'vitally', 'slack', 'webhooks']);
    expect(sandbox.slack.webhookUrl).toBe('http://127.0.0.1:4010/slack/services/T0SANDBOX/B0HIGHVALUE/sandbox-token');
    expect(sandbox.webhooks).toEqual({
      urls: ['http://127.0.0.1:4010/webhooks/default'],
      secret: 'sandbox-webhook-secret',
    });
    expect(sandbox.salesforce).toMatchObject({
      accountExternalIdField: 'Company_Domain__c',
      personalEmailPolicy: 'skip',
    });

    let error: unknown;
    try {
      loadConfig({
        ENRICHMENT_MODE: 'live',
        DESTINATIONS: 'posthog',
        OUTGOING_WEBHOOK_URLS: 'https://hooks.example.com/in',
      });
    } catch (err) {
      error = err;
    }
    const message = (error as Error).message;
    expect(message).toContain('POSTHOG_PROJECT_ID');
    expect(message).toContain('OUTGOING_WEBHOOK_SECRET');
    expect(message).not.toContain('SALESFORCE_CLIENT_ID');
    expect(message).not.toContain('VITALLY_API_KEY');
    expect(message).not.toContain('SLACK_WEBHOOK_URL');
  });

  it('leaves Close off by default, and needs CLOSE_API_KEY in live mode only when close is a destination', () => {
    const sandbox = loadConfig({});
    expect(sandbox.fanOut.destinations).not.toContain('close');
    expect(loadConfig({ DESTINATIONS: 'close' }).close).toEqual({
      apiUrl: 'http://127.0.0.1:4010/close/api/v1',
      highValueAction: 'task',
    });
    expect(() => loadConfig({ CLOSE_HIGH_VALUE_ACTION: 'deal' })).toThrow(/CLOSE_HIGH_VALUE_ACTION/);
    expect(configError({ ...LIVE, DESTINATIONS: 'posthog,close' })).toMatch(
      /ENRICHMENT_MODE=live needs: CLOSE_API_KEY/,
    );
    const live = loadConfig({ ...LIVE, DESTINATIONS: 'posthog,close', CLOSE_API_KEY: 'close-key-0123456789abcdef' });
    expect(live.close.apiUrl).toBe('https://api.close.com/api/v1');
    expect(live.secrets).toContain('close-key-0123456789abcdef');
    expect(loadConfig(LIVE).fanOut.destinations).not.toContain('close');
  });

  it('reads the Salesforce field policy and refuses a malformed one', () => {
    const config = loadConfig({ SALESFORCE_FIELD_POLICY: 'NumberOfEmployees=overwrite, ICP_Tier__c=fill_empty' });
    expect(config.salesforce.fieldPolicy).toEqual({ NumberOfEmployees: 'overwrite', ICP_Tier__c: 'fill_empty' });
    expect(() => loadConfig({ SALESFORCE_FIELD_POLICY: 'Name=sometimes' })).toThrow(
      /SALESFORCE_FIELD_POLICY: "Name=sometimes"/,
    );
    expect(() => loadConfig({ DESTINATIONS: 'posthog,hubspot' })).toThrow(/DESTINATIONS/);
  });

  it('configures the weekend re-enrichment: the synchronous providers by default, Clay refused', () => {
    const config = loadConfig({});
    expect(config.reenrichment).toMatchObject({
      staleDays: 90,
      creditBudget: 500,
      pageSize: 200,
      providers: ['clearbit', 'harmonic'],
      excludedDomains: [],
    });
    expect(loadConfig({ REENRICH_EXCLUDED_DOMAINS: ' Partner.io, example.com ' }).reenrichment.excludedDomains).toEqual(
      ['partner.io', 'example.com'],
    );
    expect(() => loadConfig({ REENRICH_PROVIDERS: 'clearbit,clay' })).toThrow(/REENRICH_PROVIDERS: "clay"/);
    expect(() => loadConfig({ ENRICHMENT_PROVIDERS: 'clearbit', REENRICH_PROVIDERS: 'harmonic' })).toThrow(
      /REENRICH_PROVIDERS: "harmonic"/,
    );
    expect(() => loadConfig({ REENRICH_PAGE_SIZE: '50' })).toThrow(/REENRICH_PAGE_SIZE/);
  });

  it('loads .env.example exported as is (set -a; . ./.env.example)', () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(path.join(__dirname, '../.env.example'), 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
    }
    expect(Object.keys(env).length).toBeGreaterThan(40);
    expect(loadConfig(env).signupEvents).toEqual(['user signed up', 'user_signed_up']);
  });
});

// The `humanic` destination and VITALLY_ACCOUNTS (docs/destinations.md).
describe('humanic and VITALLY_ACCOUNTS configuration', () => {
  it('leaves humanic off unless named, and points it at the sandbox in sandbox mode', () => {
    const byDefault = loadConfig({});
    expect(byDefault.fanOut.destinations).toEqual(['posthog', 'salesforce', 'vitally', 'slack', 'webhooks']);
    expect(createDestinationClients(byDefault).humanic).toBeUndefined();
    const named = loadConfig({ DESTINATIONS: 'humanic', SANDBOX_URL: 'http://127.0.0.1:4999' });
    expect(named.humanic.webhookUrl).toBe('http://127.0.0.1:4999/humanic/webhook');
    expect(createDestinationClients(named).humanic).toBeDefined();
  });

  it('live mode names HUMANIC_WEBHOOK_URL when humanic is a destination without it, and keeps the URL secret', () => {
    expect(configError({ ...LIVE, DESTINATIONS: 'posthog,humanic' })).toMatch(/needs HUMANIC_WEBHOOK_URL/);
    const url = 'https://hooks.humanic.example/posthog/ws-1234567890';
    const config = loadConfig({
      ...LIVE,
      DESTINATIONS: 'posthog,humanic',
      HUMANIC_WEBHOOK_URL: url,
      HUMANIC_API_KEY: 'hk-1',
    });
    expect(config.humanic).toEqual({ webhookUrl: url, apiKey: 'hk-1' });
    expect(config.secrets).toEqual(expect.arrayContaining([url, 'hk-1']));
  });

  it('VITALLY_ACCOUNTS: direct by default; salesforce_sync needs salesforce among the destinations', () => {
    expect(loadConfig({}).vitally.accounts).toBe('direct');
    expect(createDestinationClients(loadConfig({})).vitally?.accounts).toBe('direct');
    const sync = loadConfig({ VITALLY_ACCOUNTS: 'salesforce_sync' });
    expect(createDestinationClients(sync).vitally?.accounts).toBe('salesforce_sync');
    expect(configError({ VITALLY_ACCOUNTS: 'salesforce_sync', DESTINATIONS: 'posthog,vitally' })).toMatch(
      /VITALLY_ACCOUNTS=salesforce_sync needs salesforce in DESTINATIONS/,
    );
    expect(configError({ VITALLY_ACCOUNTS: 'both' })).toMatch(/VITALLY_ACCOUNTS/);
  });

  it('VITALLY_SYNC_ACCOUNT_KEY: domain by default (the field our Salesforce Accounts key on), one of three', () => {
    expect(loadConfig({}).vitally.syncAccountKey).toBe('domain');
    const sync = (key?: string) =>
      createDestinationClients(
        loadConfig({ VITALLY_ACCOUNTS: 'salesforce_sync', ...(key ? { VITALLY_SYNC_ACCOUNT_KEY: key } : {}) }),
      ).vitally?.syncAccountKey;
    expect(sync()).toBe('domain');
    expect(sync('salesforce_id')).toBe('salesforce_id');
    expect(sync('organization_id')).toBe('organization_id');
    // Direct mode has no synced accounts to find.
    expect(createDestinationClients(loadConfig({})).vitally?.syncAccountKey).toBeUndefined();
    expect(configError({ VITALLY_SYNC_ACCOUNT_KEY: 'account_id' })).toMatch(/VITALLY_SYNC_ACCOUNT_KEY/);
  });

  it("MIXPANEL_ID_MERGE: simplified by default (Mixpanel's for new projects), or original", () => {
    expect(loadConfig({}).mixpanel.idMerge).toBe('simplified');
    expect(loadConfig({ MIXPANEL_ID_MERGE: 'original' }).mixpanel.idMerge).toBe('original');
    expect(configError({ MIXPANEL_ID_MERGE: 'legacy' })).toMatch(/MIXPANEL_ID_MERGE/);
  });
});
