import type { EnrichedSignup } from '../../domain/fan-out';
import { accountFields, personFields } from './mapping';
import { accountUpdate } from './reenrichment';

/**
 * Every Salesforce field we write, read off the mapping code itself (not a second list): the fan-out's Account,
 * Contact and Lead, the weekend re-enrichment's Account stamps, and the external ids we upsert by. `enrich doctor`
 * checks them against the org's describe; deploy/salesforce/ holds them as metadata (test/salesforce-metadata.test.ts
 * fails when the two disagree).
 */

export type SalesforceObject = 'Account' | 'Contact' | 'Lead';
/** What a written value is: text, a number, or an ISO date-time. */
export type FieldKind = 'text' | 'number' | 'datetime';

export interface WrittenField {
  object: SalesforceObject;
  name: string;
  kind: FieldKind;
  /** Upserts go by this field: it must be an external id, unique. */
  externalId: boolean;
}

export interface WrittenFieldOptions {
  accountExternalIdField: string;
  contactExternalIdField: string;
  leadExternalIdField: string;
  personalEmailPolicy: 'skip' | 'lead';
}

/** A signup with every field known, so that each field the mapping can write carries a value to type. */
const COMPLETE_SIGNUP: EnrichedSignup = {
  signupId: '00000000-0000-4000-8000-000000000000',
  personKey: 'person-key',
  distinctId: 'person-key',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  emailKind: 'work',
  domain: 'example.com',
  organizationId: 'org-1',
  organizationName: 'Example',
  signedUpAt: '2026-11-24T09:00:00.000Z',
  status: 'enriched',
  reason: undefined,
  fields: {
    companyName: 'Example',
    domain: 'example.com',
    employees: 120,
    employeeRange: '51-200',
    industry: 'Software',
    industryTags: ['saas'],
    country: 'US',
    totalFundingUsd: 1_000_000,
    fundingStage: 'seed',
    foundedYear: 2015,
    companyType: 'startup',
    personTitle: 'CTO',
    role: 'engineering',
    seniority: 'executive',
  },
  provenance: { companyName: { source: 'clearbit', at: '2026-11-24T09:00:00.000Z' } },
  score: {
    status: 'scored',
    score: 80,
    tier: 'A',
    points: {},
    missingFields: [],
    reason: undefined,
    configVersion: 'v',
    inputHash: 'h',
  },
  enrichedAt: '2026-11-24T09:00:00.000Z',
};

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

function kindOf(object: string, name: string, value: unknown): FieldKind {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return ISO_DATE_TIME.test(value) ? 'datetime' : 'text';
  throw new Error(`${object}.${name}: the complete sample signup leaves it ${String(value)}; give it a value`);
}

/** The fields we write, by object, each once; Lead only under SALESFORCE_PERSONAL_EMAIL_POLICY=lead. */
export function writtenFields(o: WrittenFieldOptions): WrittenField[] {
  const s = COMPLETE_SIGNUP;
  const stamps = accountUpdate('001000000000000AAA', {}, s.fields, s.provenance, {
    policy: {},
    complete: true,
    runId: 'run-1',
    at: s.signedUpAt,
  }).update;
  const bodies: [SalesforceObject, string, Record<string, unknown>][] = [
    ['Account', o.accountExternalIdField, { ...accountFields(s), ...stamps }],
    ['Contact', o.contactExternalIdField, personFields(s, 'Contact')],
    ...(o.personalEmailPolicy === 'lead'
      ? [
          ['Lead', o.leadExternalIdField, personFields(s, 'Lead')] as [
            SalesforceObject,
            string,
            Record<string, unknown>,
          ],
        ]
      : []),
  ];
  const out: WrittenField[] = [];
  for (const [object, externalIdField, body] of bodies) {
    out.push({ object, name: externalIdField, kind: 'text', externalId: true });
    for (const [name, value] of Object.entries(body)) {
      if (name === 'Id' || name === externalIdField) continue;
      out.push({ object, name, kind: kindOf(object, name, value), externalId: false });
    }
  }
  return out;
}
