import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_WEBHOOK_SECRET, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('defaults to sandbox mode with the sandbox base URLs and the embedded ledger', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('sandbox');
    expect(config.providers).toEqual(['clearbit', 'harmonic', 'clay']);
    expect(config.signupEvents).toEqual(['user signed up', 'user_signed_up']);
    expect(config.webhookSecret).toBe(DEV_WEBHOOK_SECRET);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'signup-enrichment',
      external: false,
    });
    expect(config.systems.clearbit.baseUrl).toBe('http://127.0.0.1:4010/clearbit');
    expect(config.http.port).toBe(3000);
  });

  it('uses the real hosts in live mode and an explicit base URL over both', () => {
    const live = Object.fromEntries(
      [
        'WEBHOOK_SECRET',
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
    );
    const config = loadConfig({ ...live, ENRICHMENT_MODE: 'live', HARMONIC_BASE_URL: 'http://127.0.0.1:9999' });
    expect(config.systems.clearbit.baseUrl).toBe('https://company.clearbit.com');
    expect(config.systems.harmonic.baseUrl).toBe('http://127.0.0.1:9999');
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
