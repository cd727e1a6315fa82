import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { createDestinationClients } from '../src/composition';
import { configError } from './support/config';
import { createRedactor, SECRET_MASK } from '../src/redact';

/** Live mode with every credential the default destinations need, and strong distinct secrets. */
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
  WEBHOOK_SECRET: 'whsec-0123456789abcdef0123456789',
  ADMIN_TOKEN: 'admin-0123456789abcdef0123456789',
  CLAY_CALLBACK_SECRET: 'clay-0123456789abcdef01234567890',
  PII_HASH_KEY: 'pii-0123456789abcdef0123456789ab',
  PAYLOAD_CODEC_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  ENRICHMENT_MODE: 'live',
};

describe('Customer.io and Mixpanel configuration', () => {
  it('leaves both off unless named in DESTINATIONS', () => {
    const config = loadConfig({});
    expect(config.fanOut.destinations).toEqual(['posthog', 'salesforce', 'vitally', 'slack', 'webhooks']);
    const clients = createDestinationClients(config);
    expect(clients.customerio).toBeUndefined();
    expect(clients.mixpanel).toBeUndefined();
    // Live without their credentials starts when they are not named.
    expect(() => loadConfig(LIVE)).not.toThrow();
  });

  it('points at the sandbox in sandbox mode, the region or the override in live mode', () => {
    const sandbox = loadConfig({ DESTINATIONS: 'customerio,mixpanel', SANDBOX_URL: 'http://127.0.0.1:4999/' });
    expect(sandbox.customerio.trackUrl).toBe('http://127.0.0.1:4999/customerio/api/v1');
    expect(sandbox.mixpanel.apiUrl).toBe('http://127.0.0.1:4999/mixpanel');
    const clients = createDestinationClients(sandbox);
    expect(clients.customerio).toBeDefined();
    expect(clients.mixpanel).toBeDefined();

    const named = {
      ...LIVE,
      DESTINATIONS: 'posthog,customerio,mixpanel',
      CUSTOMERIO_SITE_ID: 'site',
      CUSTOMERIO_API_KEY: 'key',
      MIXPANEL_PROJECT_TOKEN: 'token',
      MIXPANEL_API_SECRET: 'secret',
    };
    expect(loadConfig(named).customerio.trackUrl).toBe('https://track.customer.io/api/v1');
    expect(loadConfig({ ...named, CUSTOMERIO_REGION: 'eu' }).customerio.trackUrl).toBe(
      'https://track-eu.customer.io/api/v1',
    );
    expect(loadConfig({ ...named, CUSTOMERIO_TRACK_URL: 'https://cio.example/api/v1/' }).customerio.trackUrl).toBe(
      'https://cio.example/api/v1',
    );
    expect(loadConfig(named).mixpanel.apiUrl).toBe('https://api.mixpanel.com');
    expect(loadConfig({ ...named, MIXPANEL_API_URL: 'https://api-eu.mixpanel.com' }).mixpanel.apiUrl).toBe(
      'https://api-eu.mixpanel.com',
    );
    expect(configError({ ...named, CUSTOMERIO_REGION: 'apac' })).toContain('CUSTOMERIO_REGION');
  });

  it('refuses live mode without their credentials when named, naming each and no value', () => {
    const message = configError({
      ...LIVE,
      DESTINATIONS: 'posthog,customerio,mixpanel',
      CUSTOMERIO_SITE_ID: 'site-visible-id',
    });
    for (const name of ['CUSTOMERIO_API_KEY', 'MIXPANEL_PROJECT_TOKEN', 'MIXPANEL_API_SECRET']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('CUSTOMERIO_SITE_ID');
    expect(message).not.toContain('site-visible-id');
  });

  describe('Mixpanel /import credential: a service account, or the legacy API secret', () => {
    const live = { ...LIVE, DESTINATIONS: 'posthog,mixpanel', MIXPANEL_PROJECT_TOKEN: 'mp-token-0123456789' };
    const account = {
      MIXPANEL_SERVICE_ACCOUNT_USERNAME: 'pipeline.4e1a.mp-service-account',
      MIXPANEL_SERVICE_ACCOUNT_SECRET: 'sa-secret-value-9f8e7d6c',
      MIXPANEL_PROJECT_ID: '3141592',
    };

    it('takes the service account when its three variables are set, even with an API secret', () => {
      const config = loadConfig({ ...live, ...account });
      expect(config.mixpanel).toMatchObject({ importAuth: 'service_account', projectId: '3141592' });
      expect(loadConfig({ ...live, ...account, MIXPANEL_API_SECRET: 'legacy' }).mixpanel.importAuth).toBe(
        'service_account',
      );
      expect(loadConfig({ ...live, MIXPANEL_API_SECRET: 'legacy' }).mixpanel.importAuth).toBe('api_secret');
      // Sandbox mode with nothing set: the sandbox's key as the API secret, as before.
      expect(loadConfig({ DESTINATIONS: 'mixpanel' }).mixpanel.importAuth).toBe('api_secret');
    });

    it('refuses live mode with neither, naming both ways', () => {
      const message = configError(live);
      expect(message).toContain(
        'ENRICHMENT_MODE=live needs a Mixpanel credential for /import (DESTINATIONS has mixpanel): a service account ' +
          '(MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET, MIXPANEL_PROJECT_ID) or, the legacy ' +
          'way, MIXPANEL_API_SECRET',
      );
      // The project token stays required: profiles and groups use it.
      expect(configError({ ...live, ...account, MIXPANEL_PROJECT_TOKEN: '' })).toMatch(
        /ENRICHMENT_MODE=live needs: MIXPANEL_PROJECT_TOKEN/,
      );
    });

    it('refuses a partial service account, in live and sandbox mode alike, naming what is missing and no value', () => {
      const { MIXPANEL_PROJECT_ID: _id, ...noProject } = account;
      for (const env of [
        { ...live, ...noProject },
        { ...live, ...noProject, MIXPANEL_API_SECRET: 'legacy-secret-0a1b2c' },
        { DESTINATIONS: 'mixpanel', ...noProject },
      ]) {
        const message = configError(env);
        expect(message).toContain(
          'a Mixpanel service account needs MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET, ' +
            'MIXPANEL_PROJECT_ID: MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET set, ' +
            'MIXPANEL_PROJECT_ID missing',
        );
        for (const value of [...Object.values(noProject), 'legacy-secret-0a1b2c']) expect(message).not.toContain(value);
      }
      expect(configError({ ...live, MIXPANEL_PROJECT_ID: '3141592' })).toContain(
        'MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET missing',
      );
    });

    it('wants a numeric MIXPANEL_PROJECT_ID', () => {
      expect(configError({ ...live, ...account, MIXPANEL_PROJECT_ID: 'my-project' })).toContain(
        'MIXPANEL_PROJECT_ID: a Mixpanel project id is a number',
      );
    });

    it('redacts the service account secret like the other secrets', () => {
      const config = loadConfig({ ...live, ...account });
      expect(config.secrets).toContain(account.MIXPANEL_SERVICE_ACCOUNT_SECRET);
      expect(config.credentials.MIXPANEL_SERVICE_ACCOUNT_SECRET).toBe(account.MIXPANEL_SERVICE_ACCOUNT_SECRET);
      expect(createRedactor(config.secrets).text(`import failed for sa-secret-value-9f8e7d6c`)).toBe(
        `import failed for ${SECRET_MASK}`,
      );
    });
  });

  it('treats the API key, token and secret as secrets (redacted from logs and errors)', () => {
    const config = loadConfig({
      DESTINATIONS: 'customerio,mixpanel',
      CUSTOMERIO_API_KEY: 'cio-key-0123456789',
      MIXPANEL_PROJECT_TOKEN: 'mp-token-0123456789',
      MIXPANEL_API_SECRET: 'mp-secret-0123456789',
    });
    expect(config.secrets).toEqual(
      expect.arrayContaining(['cio-key-0123456789', 'mp-token-0123456789', 'mp-secret-0123456789']),
    );
  });
});
