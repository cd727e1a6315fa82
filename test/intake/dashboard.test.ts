import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { EnrichmentStatus } from '../../src/domain/status';
import { buildIntakeApp } from '../../src/intake/app';
import { DASHBOARD_LIMITS, temporalFactsFrom, type DashboardDeps } from '../../src/intake/dashboard';
import { escapeHtml, webUiStatusLink } from '../../src/intake/dashboard-html';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { newOperatorSession, OPERATOR_SESSION } from '../../src/intake/session';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { freePort } from '../../src/tools/dev-server';
import { WorkflowType } from '../../src/workflows/messages';
import { ADMIN_TOKEN, CLAY_SECRET, privateDatabaseUrl, SECRET } from '../support/config';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const UI = { url: 'http://127.0.0.1:8233', namespace: 'default' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Temporal's answer where a test is about the ledger's side of the page (the schedules tests ask a real server). */
const FACTS = { schedules: [], workflowCounts: { waiting_for_credits: 4, paused: 0, failed: 2 } };
const HOSTILE = `<script>alert("x")</script> & 'quoted'`;

/** The values of `data-testid="<id>"` elements: their text, keyed by one of their data attributes. */
function cells(html: string, testid: string, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = new RegExp(`<[a-z]+ data-testid="${testid}"([^>]*)>([^<]*)<`, 'g');
  for (const m of html.matchAll(re)) {
    const k = new RegExp(`data-${key}="([^"]*)"`).exec(m[1]!)?.[1];
    if (k !== undefined) out[k] = m[2]!;
  }
  return out;
}

async function seed(ledger: Ledger): Promise<void> {
  const signup = async (
    signedUpAt: string,
    status: EnrichmentStatus,
    recorded?: { at: string; credits: Record<string, number> },
  ) => {
    const key = randomUUID();
    const { signup: row } = await ledger.signups.recordSignup({
      source: 'api',
      eventUuid: undefined,
      dedupeKey: key,
      workflowId: `signup-${key}`,
      email: `a@${key.slice(0, 8)}.example`,
      emailDomain: `${key.slice(0, 8)}.example`,
      distinctId: key,
      personId: undefined,
      name: undefined,
      organizationId: undefined,
      organizationName: undefined,
      signedUpAt,
      status: 'received',
      statusReason: undefined,
      payload: {},
    });
    if (recorded) {
      await ledger.signups.recordEnrichment(row.id, {
        status,
        reason: undefined,
        fields: {},
        provenance: {},
        score: undefined,
        creditsSpent: recorded.credits,
        at: recorded.at,
      });
    } else {
      await ledger.signups.recordScreening(row.id, { emailKind: 'work', status, reason: undefined });
    }
  };
  await signup('2026-11-30T08:00:00Z', 'enriched', { at: '2026-11-30T08:01:00Z', credits: { clearbit: 2 } });
  await signup('2026-11-30T09:00:00Z', 'enriched', {
    at: '2026-11-30T09:01:00Z',
    credits: { clearbit: 1, harmonic: 1 },
  });
  await signup('2026-11-30T23:59:00Z', 'partial', { at: '2026-12-01T00:01:00Z', credits: { harmonic: 2 } });
  await signup('2026-12-01T10:00:00Z', 'waiting_for_credits');
  await signup('2026-12-01T11:00:00Z', 'failed');
  // Before the window: in the status counts, not in the days or the credits.
  await signup('2026-11-10T10:00:00Z', 'enriched', { at: '2026-11-10T10:01:00Z', credits: { clearbit: 5 } });
  await ledger.health.recordIncidentDay('2026-11-29', { kind: 'credits', system: 'clearbit', summary: HOSTILE });
  await ledger.health.setSnooze('2026-12-05', HOSTILE);
}

function app(ledger: Ledger, dashboard: Omit<DashboardDeps, 'adminToken' | 'ledger'>): FastifyInstance {
  return buildIntakeApp({
    ledger,
    webhookSecret: SECRET,
    adminToken: ADMIN_TOKEN,
    clayCallbackSecret: CLAY_SECRET,
    piiHashKey: 'test-pii-hash-key',
    signupEvents: ['user signed up'],
    metrics: createIntakeMetrics(ledger.outbox),
    onRecorded: () => undefined,
    deliverClayResult: () => Promise.resolve(false),
    temporalReady: () => Promise.resolve(),
    codec: { codec: undefined, corsOrigins: [UI.url] },
    dashboard,
  });
}

// GET /dashboard over real HTTP on the intake app: who may open it, and what it shows of a seeded ledger.
describe('dashboard: access', () => {
  let ledger: Ledger;
  let server: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    server = app(ledger, { minWrites: 250, webUi: UI, temporal: () => Promise.resolve(FACTS), now: () => NOW });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await ledger?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers, redirect: 'manual' });

  it('answers 401 to a script without the token, with a wrong one, or with the webhook secret', async () => {
    for (const authorization of [undefined, 'Bearer nope', `Bearer ${SECRET}`, `Basic ${b64('ops:nope')}`, 'Bearer ']) {
      const res = await get('/dashboard', authorization ? { authorization } : {});
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await res.json()) as { error: string }).error).toMatch(/ADMIN_TOKEN.*\/dashboard\/login/);
    }
    // A forged, expired or foreign session cookie is no session; neither is garbage.
    const session = newOperatorSession(ADMIN_TOKEN, Date.now());
    for (const value of [
      session.replace(/^\d+/, '99999999999'),
      newOperatorSession(ADMIN_TOKEN, Date.now() - 13 * 3600_000),
      newOperatorSession('another-admin-token', Date.now()),
      '%%%;;==',
    ]) {
      expect((await get('/dashboard', { cookie: `${OPERATOR_SESSION.cookie}=${value}` })).status).toBe(401);
    }
  });

  it('opens with the bearer token', async () => {
    const res = await get('/dashboard', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toContain(`<meta http-equiv="refresh" content="${DASHBOARD_LIMITS.refreshSeconds}">`);
  });

  it('sends a browser to the login, whose session cookie opens the dashboard and the codec endpoint', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const first = await get('/dashboard', browser);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/dashboard/login');

    const prompt = await get('/dashboard/login', browser);
    expect(prompt.status).toBe(401);
    expect(prompt.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]*ADMIN_TOKEN[^"]*"/);
    const wrong = await get('/dashboard/login', { authorization: `Basic ${b64(`ops:${SECRET}`)}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await get('/dashboard/login', { ...browser, authorization: `Basic ${b64(`ops:${ADMIN_TOKEN}`)}` });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/dashboard');
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^operator_session=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0]!;

    const page = await get('/dashboard', { ...browser, cookie });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<svg data-testid="day-chart"');
    // The same session opens the codec endpoint (here without keys: past the authorization, it says encryption is off).
    const codec = await fetch(`${base}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{"payloads":[]}',
    });
    expect(codec.status).toBe(404);
    // And the codec's login opens the dashboard.
    const codecLogin = await get('/codec/login', { authorization: `Basic ${b64(`ops:${ADMIN_TOKEN}`)}` });
    const codecCookie = (codecLogin.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(codecCookie).toMatch(/^operator_session=/);
    expect((await get('/dashboard', { cookie: codecCookie })).status).toBe(200);
  });
});

describe.each(['pglite', 'postgres'] as const)('dashboard: content (%s ledger)', (engine) => {
  let ledger: Ledger;
  let server: FastifyInstance;
  let html: string;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: engine === 'postgres' ? await privateDatabaseUrl() : undefined });
    await seed(ledger);
    server = app(ledger, { minWrites: 250, webUi: UI, temporal: () => Promise.resolve(FACTS), now: () => NOW });
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    html = await (await fetch(`${base}/dashboard`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  });

  afterAll(async () => {
    await server?.close();
    await ledger?.close();
  });

  it('charts 14 days of signups and enrichment writes, with the alert threshold', () => {
    expect(html.match(/data-testid="bar-signups"/g)).toHaveLength(14);
    expect(html.match(/data-testid="bar-writes"/g)).toHaveLength(14);
    expect(html).toMatch(/<line class="threshold" data-testid="threshold-line" data-value="250"/);
    // Every bar (at most 3 here) tops out below the line of 250; the tallest above the empty days' baseline.
    const thresholdY = Number(/data-testid="threshold-line"[^>]* y1="([\d.]+)"/.exec(html)![1]);
    const barTops = [
      ...html.matchAll(/data-testid="bar-(?:signups|writes)"[^>]* data-value="(\d+)"[^>]* y="([\d.]+)"/g),
    ];
    expect(barTops).toHaveLength(28);
    const yOf = (value: number) => barTops.filter((m) => Number(m[1]) === value).map((m) => Number(m[2]));
    expect(Math.min(...yOf(3))).toBeGreaterThan(thresholdY);
    expect(Math.max(...yOf(3))).toBeLessThan(Math.min(...yOf(1)));
    expect(Math.max(...yOf(1))).toBeLessThan(Math.min(...yOf(0)));
    const signups = cells(html, 'day-signups', 'day');
    const writes = cells(html, 'day-writes', 'day');
    expect(Object.keys(signups)).toEqual(Object.keys(writes));
    expect(Object.keys(signups)[0]).toBe('2026-11-19');
    expect(Object.keys(signups)[13]).toBe('2026-12-02');
    expect(signups).toMatchObject({ '2026-11-30': '3', '2026-12-01': '2', '2026-11-19': '0' });
    // Writes count on the day they were recorded: the partial signup of 23:59 was recorded after midnight.
    expect(writes).toMatchObject({ '2026-11-30': '2', '2026-12-01': '1', '2026-12-02': '0' });
    expect(html).toContain('data-testid="total-signups">5<');
    expect(html).toContain('data-testid="total-writes">3<');
  });

  it('shows every status, and links the ones that need a look to the Web UI', () => {
    expect(cells(html, 'status-count', 'status')).toEqual({
      received: '0',
      enriching: '0',
      enriched: '3',
      partial: '1',
      not_found: '0',
      skipped: '0',
      undeliverable: '0',
      waiting_for_credits: '1',
      paused: '0',
      failed: '1',
    });
    // The workflows Temporal counts under each status (what the link lists), and the ledger's signups beside them.
    expect(html).toContain('data-testid="attention-waiting_for_credits">4<');
    expect(html).toContain('data-testid="attention-failed">2<');
    expect(html).toContain('data-testid="attention-paused">0<');
    expect(html).not.toContain('data-testid="attention-ledger-waiting_for_credits"');
    expect(html).toContain('data-testid="attention-ledger-failed">1<');
    expect(html).toContain(
      'href="http://127.0.0.1:8233/namespaces/default/workflows?query=EnrichmentStatus%3D%22waiting_for_credits%22"',
    );
  });

  it('sums credits per provider per day within the window', () => {
    const credits = [...html.matchAll(/data-testid="credits" data-day="([^"]+)" data-provider="([^"]+)">(\d+)</g)]
      .filter((m) => m[3] !== '0')
      .map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(credits).toEqual(['2026-11-30 clearbit 3', '2026-11-30 harmonic 1', '2026-12-01 harmonic 2']);
    expect(html).toMatch(/data-testid="credits-total" data-provider="clearbit"><strong>3</);
    expect(html).toMatch(/data-testid="credits-total" data-provider="harmonic"><strong>3</);
  });

  it('lists the open incident and the snooze, escaping what the ledger holds', () => {
    expect(html).toContain('data-testid="incident" data-id="incident-2026-11-29"');
    expect(html).toContain('Alerts snoozed until <strong>2026-12-05</strong>');
    expect(html).not.toContain('<script>');
    expect(html.split(escapeHtml(HOSTILE)).length - 1).toBe(2);
    expect(escapeHtml(HOSTILE)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;');
  });
});

describe('dashboard: schedules', () => {
  let ledger: Ledger;
  let client: Client;
  const servers: FastifyInstance[] = [];
  const scheduleId = `dashboard-test-${randomUUID()}`;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    await client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 9, minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.creditExhaustionDetector,
        workflowId: `${scheduleId}-run`,
        taskQueue: `${scheduleId}-queue`,
        args: [{}],
      },
    });
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    await client?.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await client?.connection.close();
    await ledger?.close();
  });

  const page = async (temporal: DashboardDeps['temporal']) => {
    const server = app(ledger, { minWrites: 250, webUi: undefined, temporal });
    servers.push(server);
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}/dashboard`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return { status: res.status, html: await res.text() };
  };

  it("shows each schedule's next runs from Temporal, and one not created yet", async () => {
    const missing = `dashboard-missing-${randomUUID()}`;
    const { status, html } = await page(temporalFactsFrom(client, [scheduleId, missing]));
    expect(status).toBe(200);
    const next = cells(html.replaceAll('<br>', ' '), 'schedule-next', 'id');
    expect(next[scheduleId]).toMatch(/^(\d{4}-\d{2}-\d{2}T09:00:00\.000Z ?){3}$/);
    expect(next[missing]).toBe('not created yet (the worker creates it at start-up)');
    // The shared server's counts change as other files run: here only that each is a count.
    expect(html).toMatch(/data-testid="attention-failed">\d+</);
    // Without TEMPORAL_UI_URL the counts are plain numbers that say how to get links.
    expect(html).not.toContain('data-testid="attention-link-');
    expect(html).toContain('set TEMPORAL_UI_URL to link the Web UI');
  });

  it('renders the rest of the page, saying so, when Temporal does not answer', async () => {
    const unreachable = new Client({
      connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 1_000 }),
    });
    try {
      const { status, html } = await page(temporalFactsFrom(unreachable, [scheduleId]));
      expect(status).toBe(200);
      expect(html).toMatch(/data-testid="schedules-unavailable" class="warn">Temporal unreachable: [^<]+</);
      expect(html.match(/data-testid="bar-signups"/g)).toHaveLength(14);
      expect(html).toContain('data-testid="attention-failed">?<');
    } finally {
      // The client's calls retry in the background until their deadline: a retry timer firing after the connection
      // closed throws from inside the SDK (an uncaught "Channel has been shut down"), so close once they are over.
      await new Promise((resolve) => setTimeout(resolve, DASHBOARD_LIMITS.temporalTimeoutMs + 2_000));
      await unreachable.connection.close();
    }
  });

  it('builds Web UI links with the namespace and the query encoded', () => {
    expect(webUiStatusLink({ url: 'https://t.example', namespace: 'prod.acct/x' }, 'failed')).toBe(
      'https://t.example/namespaces/prod.acct%2Fx/workflows?query=EnrichmentStatus%3D%22failed%22',
    );
  });
});
