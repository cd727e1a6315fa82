import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createRng, hash32, type Dataset } from './dataset';
import { createPosthogProject, type ProjectState as PosthogProjectState } from './posthog/project';
import { createSalesforceOrg, type OrgState as SalesforceOrgState } from './salesforce/org';

/**
 * Control state and call log of every simulated system. A system is one entry in CONTROL_SCHEMAS and
 * DEFAULT_CONTROLS; `POST /_control/:system`, `GET /_inspect/:system` and `POST /_reset` pick it up from there.
 * Destinations (PostHog, Salesforce, Vitally, Slack, the webhook receiver) keep what was written in a RecordStore,
 * which `/_inspect/:system` shows with per-record write counts.
 */

const baseControl = {
  /** Remaining credits; null = unlimited. A call that delivers data costs one credit. */
  credits: z.number().int().min(0).nullable(),
  /** Requests admitted per rolling second; null = unlimited. */
  rateLimitPerSecond: z.number().int().min(1).nullable(),
  /** Added before every answer. */
  latencyMs: z.number().int().min(0).max(60_000),
  /** Probability (0..1) that an admitted request fails with a 5xx; drawn from the system's seeded PRNG. */
  failureRate: z.number().min(0).max(1),
};

/**
 * Lookup keys (domains, emails) the provider treats as invalid input, answered the way its docs describe invalid
 * parameters (Clearbit 422 `params_invalid` / `email_invalid`, Harmonic 422 validation error): a way to provoke a
 * vendor's refusal with input that our own intake would never let through. Compared case-insensitively.
 */
const invalidKeys = z.array(z.string().min(1).max(320)).max(1000);

export const CONTROL_SCHEMAS = {
  clearbit: z.object({
    ...baseControl,
    invalidKeys,
    /**
     * Lookups of the queued fixture answered 202 while Clearbit is still computing it ("retry the call after a few
     * minutes"), by either endpoint, before its data is ready; null = still computing, whenever asked.
     */
    queuedLookups: z.number().int().min(0).max(1000).nullable(),
  }),
  harmonic: z.object({
    ...baseControl,
    invalidKeys,
    /** How an exhausted quota is answered: 402, or 429 with MONTHLY_QUOTA_INSUFFICIENT in the body. */
    quotaStyle: z.enum(['402', '429']),
    /** Status polls of an enrichment urn that answer IN_PROGRESS before the final COMPLETE / NOT_FOUND. */
    enrichmentPollsBeforeDone: z.number().int().min(0).max(1000),
  }),
  clay: z.object({
    ...baseControl,
    /** Rows the table's webhook accepts before it silently stops enriching (Clay: 50,000 per webhook). */
    rowLimit: z.number().int().min(0).nullable(),
    /** Where the table's HTTP API column POSTs each enriched row; null = the column is not configured. */
    callbackUrl: z.url({ protocol: /^https?$/ }).nullable(),
    /** Sent as `Authorization: Bearer <callbackAuth>` with every callback. */
    callbackAuth: z.string().min(1).nullable(),
    /** Time between a row arriving and its callback. */
    resultDelayMs: z.number().int().min(0).max(600_000),
    /** The table (or its webhook source) was deleted: every row is answered 404, nothing stored. */
    sourceDeleted: z.boolean(),
  }),
  posthog: z.object({
    ...baseControl,
    /** The project's webhook destination (./posthog/destination.ts): where it POSTs events; null = none. */
    destinationUrl: z.url({ protocol: /^https?$/ }).nullable(),
    /** Sent as `Authorization: Bearer <destinationAuth>` with every delivery. */
    destinationAuth: z.string().min(1).nullable(),
    /** The destination's event filter; null = every event. */
    destinationEvents: z.array(z.string().min(1).max(200)).max(100).nullable(),
    /** A disabled destination delivers nothing; the events are still ingested and queryable. */
    destinationEnabled: z.boolean(),
  }),
  salesforce: z.object({
    ...baseControl,
    /** API requests left in the org's rolling 24 h allowance; null = unlimited. At 0: 403 REQUEST_LIMIT_EXCEEDED. */
    apiRequestsRemaining: z.number().int().min(0).nullable(),
    /** Whether the Account duplicate rule (same Website domain) blocks creating a second Account. */
    duplicateRules: z.boolean(),
    /** Fields (`Account.ICP_Score__c`) left out of the sObject describe: an org set up without them. */
    missingFields: z.array(z.string().regex(/^\w+\.\w+$/, 'Object.Field')).max(100),
    /**
     * Emails a Contact or Lead write is refused for, as Salesforce refuses an address its validation rejects:
     * `INVALID_EMAIL_ADDRESS` "Email: invalid email address: <the address>" (the error quotes it). Case-insensitive.
     */
    invalidEmails: z.array(z.string().min(1).max(320)).max(1000),
  }),
  vitally: z.object(baseControl),
  slack: z.object(baseControl),
  webhooks: z.object({
    ...baseControl,
    /** The secret deliveries are verified with (HMAC-SHA256 over `<timestamp>.<body>`). */
    signingSecret: z.string().min(1),
  }),
  customerio: z.object(baseControl),
  mixpanel: z.object({
    ...baseControl,
    /**
     * The project's ID management version (Project Settings → Identity Merge): `simplified` (Mixpanel's recommendation
     * for new projects) merges the `$device_id` and `$user_id` of one event; `original` merges on `$merge`.
     */
    idMerge: z.enum(['simplified', 'original']),
  }),
  close: z.object({
    ...baseControl,
    /**
     * How long after a write its lead (and its contacts' emails) becomes visible to the search (`POST /data/search/`,
     * the deprecated `GET /lead/?query=`): Close's search reads an index built apart from its writes ("Search Indexing
     * Delays" on status.close.com). Until then the search sees the lead as it was before, or not at all. GET by id is
     * never delayed.
     */
    searchIndexDelayMs: z.number().int().min(0).max(86_400_000),
  }),
  humanic: z.object({
    ...baseControl,
    /** A token the receiver requires as `Authorization: Bearer <token>`; null = none (the URL identifies the workspace). */
    bearerToken: z.string().min(1).nullable(),
  }),
};

export type SandboxSystem = keyof typeof CONTROL_SCHEMAS;
export const SANDBOX_SYSTEMS = Object.keys(CONTROL_SCHEMAS) as SandboxSystem[];
export type ControlFor<S extends SandboxSystem> = z.infer<(typeof CONTROL_SCHEMAS)[S]>;
export type ControlPatches = { [S in SandboxSystem]?: Partial<ControlFor<S>> };

/**
 * The real services' limits where they are documented: Clearbit 600/min, Harmonic 10 req/s. Credits unlimited. No
 * input is refused beyond what the simulators' own validation refuses.
 */
export const DEFAULT_CONTROLS: { [S in SandboxSystem]: ControlFor<S> } = {
  clearbit: { credits: null, rateLimitPerSecond: 10, latencyMs: 0, failureRate: 0, invalidKeys: [], queuedLookups: 1 },
  harmonic: {
    invalidKeys: [],
    credits: null,
    rateLimitPerSecond: 10,
    latencyMs: 0,
    failureRate: 0,
    quotaStyle: '402',
    enrichmentPollsBeforeDone: 1,
  },
  clay: {
    credits: null,
    rateLimitPerSecond: null,
    latencyMs: 0,
    failureRate: 0,
    rowLimit: 50_000,
    callbackUrl: null,
    callbackAuth: null,
    resultDelayMs: 500,
    sourceDeleted: false,
  },
  // Destinations: credits are not used; rate limits only where a test sets them.
  posthog: {
    credits: null,
    rateLimitPerSecond: null,
    latencyMs: 0,
    failureRate: 0,
    destinationUrl: null,
    destinationAuth: null,
    destinationEvents: null,
    destinationEnabled: true,
  },
  salesforce: {
    credits: null,
    rateLimitPerSecond: null,
    latencyMs: 0,
    failureRate: 0,
    apiRequestsRemaining: null,
    duplicateRules: true,
    missingFields: [],
    invalidEmails: [],
  },
  vitally: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0 },
  slack: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0 },
  webhooks: {
    credits: null,
    rateLimitPerSecond: null,
    latencyMs: 0,
    failureRate: 0,
    signingSecret: 'sandbox-webhook-secret',
  },
  customerio: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0 },
  mixpanel: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0, idMerge: 'simplified' },
  close: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0, searchIndexDelayMs: 0 },
  humanic: { credits: null, rateLimitPerSecond: null, latencyMs: 0, failureRate: 0, bearerToken: null },
};

export function isSandboxSystem(name: string): name is SandboxSystem {
  return Object.hasOwn(CONTROL_SCHEMAS, name);
}

export type ControlParse<S extends SandboxSystem> =
  { ok: true; patch: Partial<ControlFor<S>> } | { ok: false; issues: { path: string; message: string }[] };

/** Validates a control body: every field optional, unknown fields refused. */
export function parseControlPatch<S extends SandboxSystem>(system: S, body: unknown): ControlParse<S> {
  const parsed = CONTROL_SCHEMAS[system]
    .partial()
    .strict()
    .safeParse(body ?? {});
  if (parsed.success) return { ok: true, patch: parsed.data as Partial<ControlFor<S>> };
  return {
    ok: false,
    issues: parsed.error.issues.map((i) => ({
      path: i.path.length > 0 ? i.path.join('.') : '(body)',
      message: i.message,
    })),
  };
}

export interface CallLogEntry {
  /** ISO 8601. */
  at: string;
  system: SandboxSystem;
  /** `request`: a call the sandbox answered; `callback`: a call the sandbox made (Clay's HTTP API column). */
  kind: 'request' | 'callback';
  method: string;
  path: string;
  /** What was looked up or sent: a domain, an email, enrichment urns, a row key. */
  key: string | null;
  /** The status answered (requests) or received (callbacks; 0 when the receiver could not be reached). */
  status: number;
  creditsCharged: number;
  note?: string;
}

/** A request's path without its query string: what the call log shows (the key column says what was asked). */
export function requestPath(request: FastifyRequest): string {
  return request.url.split('?', 1)[0] ?? request.url;
}

/** The call log keeps its most recent entries; the counts stay exact. */
const MAX_LOGGED_CALLS = 5000;

export class SystemState<S extends SandboxSystem> {
  control: ControlFor<S>;
  creditsSpent = 0;
  private log: CallLogEntry[] = [];
  private statusCounts = new Map<string, number>();
  private admittedAt: number[] = [];
  private readonly rng: () => number;

  constructor(
    readonly name: S,
    control: ControlFor<S>,
    seed: number,
  ) {
    this.control = control;
    this.rng = createRng((seed ^ hash32(name)) >>> 0);
  }

  update(patch: Partial<ControlFor<S>>): void {
    this.control = { ...this.control, ...patch };
  }

  /** Whether the provider's `invalidKeys` control names this lookup key (providers with that control only). */
  isInvalidKey(key: string): boolean {
    const keys = (this.control as { invalidKeys?: string[] }).invalidKeys ?? [];
    return keys.some((k) => k.toLowerCase() === key.toLowerCase());
  }

  hasCredits(): boolean {
    return this.control.credits === null || this.control.credits > 0;
  }

  /** Takes `amount` credits (never below zero) and returns what was taken. */
  charge(amount = 1): number {
    const taken = this.control.credits === null ? amount : Math.min(amount, this.control.credits);
    if (this.control.credits !== null) this.control = { ...this.control, credits: this.control.credits - taken };
    this.creditsSpent += taken;
    return taken;
  }

  /**
   * Admits a request under the rolling one-second window, or returns the seconds to wait (for `Retry-After`).
   * Refused requests do not count against the window.
   */
  admit(nowMs: number): { admitted: true } | { admitted: false; retryAfterSeconds: number } {
    const limit = this.control.rateLimitPerSecond;
    if (limit === null) return { admitted: true };
    this.admittedAt = this.admittedAt.filter((t) => t > nowMs - 1000);
    if (this.admittedAt.length >= limit) {
      const oldest = this.admittedAt[0] ?? nowMs;
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + 1000 - nowMs) / 1000)) };
    }
    this.admittedAt.push(nowMs);
    return { admitted: true };
  }

  /** One draw per admitted request, so a run with the same seed and the same requests fails the same ones. */
  drawFailure(): boolean {
    if (this.control.failureRate <= 0) return false;
    return this.rng() < this.control.failureRate;
  }

  /**
   * What every simulated endpoint does after authentication: wait `latencyMs`, apply the rate limit, then draw the
   * injected failure. The order matters: a throttled request is refused before it can fail.
   */
  async gate(): Promise<{ kind: 'ok' } | { kind: 'rate_limited'; retryAfterSeconds: number } | { kind: 'failure' }> {
    if (this.control.latencyMs > 0) await sleep(this.control.latencyMs);
    const admission = this.admit(Date.now());
    if (!admission.admitted) return { kind: 'rate_limited', retryAfterSeconds: admission.retryAfterSeconds };
    return this.drawFailure() ? { kind: 'failure' } : { kind: 'ok' };
  }

  record(entry: Omit<CallLogEntry, 'at' | 'system'>): void {
    this.log.push({ at: new Date().toISOString(), system: this.name, ...entry });
    if (this.log.length > MAX_LOGGED_CALLS) this.log.splice(0, this.log.length - MAX_LOGGED_CALLS);
    if (entry.kind === 'request') {
      const key = String(entry.status);
      this.statusCounts.set(key, (this.statusCounts.get(key) ?? 0) + 1);
    }
  }

  /** Logs a request this system answered, with the method and path it came with. */
  recordRequest(
    request: FastifyRequest,
    entry: Omit<CallLogEntry, 'at' | 'system' | 'kind' | 'method' | 'path'>,
  ): void {
    this.record({ kind: 'request', method: request.method, path: requestPath(request), ...entry });
  }

  get calls(): readonly CallLogEntry[] {
    return this.log;
  }

  inspect() {
    const byStatus = Object.fromEntries([...this.statusCounts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return {
      system: this.name,
      control: this.control,
      counts: { requests: [...this.statusCounts.values()].reduce((a, b) => a + b, 0), byStatus },
      creditsSpent: this.creditsSpent,
      creditsRemaining: this.control.credits,
      calls: this.log,
    };
  }
}

export type EnrichmentStatus = 'IN_PROGRESS' | 'COMPLETE' | 'NOT_FOUND';

/** An enrichment Harmonic scheduled when it answered 404; polled through `GET /enrichment_status`. */
export interface HarmonicEnrichment {
  urn: string;
  kind: 'company' | 'person';
  /** The domain, email or LinkedIn URL that was not found. */
  key: string;
  polls: number;
}

export interface ClayCounters {
  rowsReceived: number;
  rowsEnriched: number;
  rowsNotFound: number;
  /** Accepted with 200 and never enriched: credits at 0 or the row limit reached. */
  rowsSilent: number;
  callbacksDelivered: number;
  callbacksFailed: number;
}

/** One record a destination keeps: a PostHog group or person, a Salesforce Account, a Slack message, ... */
export interface StoredRecord {
  /** The record type within the system: `group`, `person`, `event`, `Account`, `Contact`, `message`, ... */
  type: string;
  /** The key it is found by (group key, distinct id, external id value, delivery id, ...). */
  key: string;
  /** The system's own id for it (Salesforce `001...`, Vitally uuid); the key when the system has none. */
  id: string;
  fields: Record<string, unknown>;
  /** How many times it was written (created or updated). */
  writes: number;
  createdAt: string;
  updatedAt: string;
}

export const DESTINATION_SYSTEMS = [
  'posthog',
  'salesforce',
  'vitally',
  'slack',
  'webhooks',
  'customerio',
  'mixpanel',
  'close',
  'humanic',
] as const;
export type DestinationSystem = (typeof DESTINATION_SYSTEMS)[number];

/** What a destination system holds, by record type and key; every write counted. */
export class RecordStore {
  private readonly tables = new Map<string, Map<string, StoredRecord>>();
  private readonly deletions: { type: string; id: string; at: string }[] = [];
  private sequence = 0;

  /**
   * Creates the record or merges `fields` into it (a field set to `undefined` is left alone), counting the write.
   * `newId` makes the system's id for a new record (default: the key).
   */
  upsert(
    type: string,
    key: string,
    fields: Record<string, unknown>,
    newId?: (sequence: number) => string,
  ): { record: StoredRecord; created: boolean } {
    const table = this.table(type);
    const now = new Date().toISOString();
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const existing = table.get(key);
    if (existing) {
      Object.assign(existing.fields, defined);
      existing.writes++;
      existing.updatedAt = now;
      return { record: existing, created: false };
    }
    const record: StoredRecord = {
      type,
      key,
      id: newId ? newId(++this.sequence) : key,
      fields: { ...defined },
      writes: 1,
      createdAt: now,
      updatedAt: now,
    };
    table.set(key, record);
    return { record, created: true };
  }

  /** Re-keys a record (Salesforce: an external id stamped onto an existing Account). */
  rekey(type: string, oldKey: string, newKey: string): StoredRecord | undefined {
    const table = this.table(type);
    const record = table.get(oldKey);
    if (!record || table.has(newKey)) return undefined;
    table.delete(oldKey);
    record.key = newKey;
    table.set(newKey, record);
    return record;
  }

  get(type: string, key: string): StoredRecord | undefined {
    return this.tables.get(type)?.get(key);
  }

  /** Deletes a record (an API's DELETE), remembered by type and system id in `/_inspect`'s `deleted`. */
  remove(type: string, key: string): StoredRecord | undefined {
    const table = this.tables.get(type);
    const record = table?.get(key);
    if (!table || !record) return undefined;
    table.delete(key);
    this.deletions.push({ type, id: record.id, at: new Date().toISOString() });
    return record;
  }

  list(type: string): StoredRecord[] {
    return [...(this.tables.get(type)?.values() ?? [])];
  }

  inspect(): {
    counts: Record<string, { records: number; writes: number }>;
    records: Record<string, StoredRecord[]>;
    deleted: { type: string; id: string; at: string }[];
  } {
    const counts: Record<string, { records: number; writes: number }> = {};
    const records: Record<string, StoredRecord[]> = {};
    for (const [type, table] of this.tables) {
      const rows = [...table.values()];
      counts[type] = { records: rows.length, writes: rows.reduce((n, r) => n + r.writes, 0) };
      records[type] = rows;
    }
    return { counts, records, deleted: [...this.deletions] };
  }

  private table(type: string): Map<string, StoredRecord> {
    let table = this.tables.get(type);
    if (!table) {
      table = new Map<string, StoredRecord>();
      this.tables.set(type, table);
    }
    return table;
  }
}

type Systems = { [S in SandboxSystem]: SystemState<S> };

export class SandboxState {
  systems!: Systems;
  /** How many lookups of each queued domain Clearbit answered 202 so far (200 after `queuedLookups` of them). */
  clearbitQueued!: Map<string, number>;
  harmonicEnrichments!: Map<string, HarmonicEnrichment>;
  /** Domains and emails whose Harmonic enrichment completed: found from then on. */
  harmonicCompleted!: Set<string>;
  clay!: ClayCounters;
  /** What each destination holds (see RecordStore); shown by `/_inspect/:system` as `records`. */
  records!: Record<DestinationSystem, RecordStore>;
  /** What the Salesforce org keeps beside `records.salesforce`: ids, API usage, query cursors, locks, Bulk jobs. */
  salesforceOrg!: SalesforceOrgState;
  /** What the PostHog project keeps beside `records.posthog`: the event sequence and the group types. */
  posthogProject!: PosthogProjectState;
  private clayTimers = new Set<NodeJS.Timeout>();
  private clayInflight = new Set<Promise<void>>();
  private generation = 0;

  constructor(
    readonly seed: number,
    private readonly initialControls: ControlPatches = {},
  ) {
    this.init();
  }

  system<S extends SandboxSystem>(name: S): SystemState<S> {
    return this.systems[name];
  }

  /** Back to the initial controls, empty logs and counters; pending Clay callbacks are dropped. */
  reset(): void {
    this.cancelPending();
    this.init();
  }

  /** Runs `send` after `delayMs` unless the state is reset or closed first. */
  schedule(delayMs: number, send: () => Promise<void>): void {
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.clayTimers.delete(timer);
      if (generation !== this.generation) return;
      const running = send().finally(() => this.clayInflight.delete(running));
      this.clayInflight.add(running);
    }, delayMs);
    this.clayTimers.add(timer);
  }

  /** Scheduled callbacks not yet sent plus those in flight; for tests and shutdown. */
  get pendingCallbacks(): number {
    return this.clayTimers.size + this.clayInflight.size;
  }

  /** Cancels what is scheduled and waits for callbacks already being sent. */
  async close(): Promise<void> {
    this.cancelPending();
    await Promise.allSettled([...this.clayInflight]);
  }

  private cancelPending(): void {
    this.generation++;
    for (const timer of this.clayTimers) clearTimeout(timer);
    this.clayTimers.clear();
  }

  private init(): void {
    const make = <S extends SandboxSystem>(name: S): SystemState<S> =>
      new SystemState(name, { ...DEFAULT_CONTROLS[name], ...(this.initialControls[name] ?? {}) }, this.seed);
    this.systems = {
      clearbit: make('clearbit'),
      harmonic: make('harmonic'),
      clay: make('clay'),
      posthog: make('posthog'),
      salesforce: make('salesforce'),
      vitally: make('vitally'),
      slack: make('slack'),
      webhooks: make('webhooks'),
      customerio: make('customerio'),
      mixpanel: make('mixpanel'),
      close: make('close'),
      humanic: make('humanic'),
    };
    this.records = Object.fromEntries(DESTINATION_SYSTEMS.map((s) => [s, new RecordStore()])) as Record<
      DestinationSystem,
      RecordStore
    >;
    this.salesforceOrg = createSalesforceOrg();
    this.posthogProject = createPosthogProject();
    this.clearbitQueued = new Map();
    this.harmonicEnrichments = new Map();
    this.harmonicCompleted = new Set();
    this.clay = {
      rowsReceived: 0,
      rowsEnriched: 0,
      rowsNotFound: 0,
      rowsSilent: 0,
      callbacksDelivered: 0,
      callbacksFailed: 0,
    };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by `buildSandbox` on the instance it returns, so test helpers can take that instance. */
    sandboxState?: SandboxState;
  }
}

/** The state behind `target`: the state itself, or the Fastify instance `buildSandbox` returned. */
export function sandboxStateOf(target: SandboxState | FastifyInstance, caller: string): SandboxState {
  if (target instanceof SandboxState) return target;
  const state = target.sandboxState;
  if (!state) throw new Error(`${caller}: this Fastify instance is not one buildSandbox returned`);
  return state;
}

/** What each simulator plugin is registered with. */
export interface ProviderPluginOptions {
  state: SandboxState;
  dataset: Dataset;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
