import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bestPersonFields } from '../../src/domain/icp/scoring';
import { scoringConfigSchema } from '../../src/domain/icp/scoring-schema';
import {
  describeShortfall,
  FIRST_CREDIT_WAIT_MS,
  MAX_CREDIT_WAIT_MS,
  mayAnswerLater,
  missingReason,
  nextCreditWaitMs,
  nextProvider,
  recordedStatus,
  wantedFields,
  wantsPersonLookup,
  withCredit,
  type PersonLookupRule,
  withinBudget,
} from '../../src/domain/enrichment/waterfall';
import type { ProviderName } from '../../src/domain/provider-outcome';

// The waterfall's decisions, shared by the signup workflow and the weekend re-enrichment.
describe('wantedFields', () => {
  it('looks for company fields only with a company domain, and always for the role', () => {
    expect(wantedFields(['companyName', 'employees', 'seniority'], true)).toEqual({
      company: ['companyName', 'employees'],
      person: ['seniority', 'role'],
      requiredPerson: ['seniority'],
    });
    expect(wantedFields(['companyName', 'role'], false)).toEqual({
      company: [],
      person: ['role'],
      requiredPerson: ['role'],
    });
  });
});

describe('nextProvider', () => {
  const order: ProviderName[] = ['clearbit', 'harmonic', 'clay'];

  it('asks in cost order, skipping providers no longer askable', () => {
    expect(nextProvider(order, {}, ['companyName'], () => true)).toBe('clearbit');
    expect(nextProvider(order, {}, ['companyName'], (p) => p !== 'clearbit')).toBe('harmonic');
    expect(nextProvider(order, {}, ['companyName'], () => false)).toBeUndefined();
  });

  it('stops once every wanted field is known, whatever is left to ask', () => {
    expect(nextProvider(order, { companyName: 'Acme' }, ['companyName'], () => true)).toBeUndefined();
    expect(nextProvider(order, { companyName: 'Acme' }, ['companyName', 'employees'], () => true)).toBe('clearbit');
    expect(nextProvider(order, {}, [], () => true)).toBeUndefined();
  });
});

describe('credits', () => {
  it('counts a paid lookup without changing the counts it was given', () => {
    const spent = { clearbit: 1 };
    expect(withCredit(spent, 'clearbit')).toEqual({ clearbit: 2 });
    expect(withCredit(spent, 'harmonic')).toEqual({ clearbit: 1, harmonic: 1 });
    expect(spent).toEqual({ clearbit: 1 });
  });

  it('allows a lookup only while the budget has a credit left', () => {
    expect(withinBudget({}, 1)).toBe(true);
    expect(withinBudget({ clearbit: 1, harmonic: 1 }, 3)).toBe(true);
    expect(withinBudget({ clearbit: 2, harmonic: 1 }, 3)).toBe(false);
    expect(withinBudget({}, 0)).toBe(false);
  });

  it('doubles the wait for credits up to its cap', () => {
    expect(nextCreditWaitMs(FIRST_CREDIT_WAIT_MS)).toBe(2 * FIRST_CREDIT_WAIT_MS);
    let wait = FIRST_CREDIT_WAIT_MS;
    for (let i = 0; i < 20; i++) wait = nextCreditWaitMs(wait);
    expect(wait).toBe(MAX_CREDIT_WAIT_MS);
  });

  it('waits only for providers that may answer later', () => {
    expect(mayAnswerLater('credits_exhausted')).toBe(true);
    expect(mayAnswerLater('provider_silent')).toBe(true);
    for (const kind of ['found', 'not_found', 'queued', 'rejected', 'provider_outage']) {
      expect(mayAnswerLater(kind)).toBe(false);
    }
  });
});

describe('recordedStatus', () => {
  const outcome = { work: true, missing: [], companyKnown: true, noCompanyAnswer: false };

  it('names every outcome a signup can be recorded with', () => {
    expect(recordedStatus({ ...outcome, work: false, missing: ['industry'] })).toBe('skipped');
    expect(recordedStatus(outcome)).toBe('enriched');
    expect(recordedStatus({ ...outcome, missing: ['industry'] })).toBe('partial');
    expect(recordedStatus({ ...outcome, missing: ['industry'], companyKnown: false })).toBe('not_found');
    expect(recordedStatus({ ...outcome, missing: ['industry'], companyKnown: false, noCompanyAnswer: true })).toBe(
      'failed',
    );
  });
});

describe('the reason of a signup missing fields', () => {
  it('says what is missing and why', () => {
    const shortfall = describeShortfall({
      unavailable: [
        { provider: 'clearbit', outcome: 'credits_exhausted' },
        { provider: 'harmonic', outcome: 'provider_outage' },
        { provider: 'clay', outcome: 'provider_silent' },
      ],
      rejected: [{ provider: 'clearbit', lookup: 'person', errorType: 'email_invalid' }],
      fallThroughMinutes: 30,
    });
    expect(missingReason(['industry', 'country'], shortfall)).toBe(
      'missing industry, country (clearbit out of credits, harmonic down for 30 min, clay silent, ' +
        'clearbit rejected the person lookup: email_invalid)',
    );
  });

  it('is empty when every provider answered, and absent when nothing is missing', () => {
    expect(describeShortfall({ unavailable: [], rejected: [], fallThroughMinutes: undefined })).toBe('');
    expect(missingReason(['industry'])).toBe('missing industry');
    expect(missingReason([], ' (clearbit out of credits)')).toBeUndefined();
  });
});

describe('wantsPersonLookup', () => {
  const scoring = scoringConfigSchema.parse(JSON.parse(readFileSync('config/icp-scoring.json', 'utf8')));
  const rule: PersonLookupRule = {
    when: 'high_value',
    highValue: { tiers: ['A'], minFundingUsd: 20_000_000 },
    scoring,
  };
  // 85 people, software, Germany: 67 points without a person, 87 with an engineer or a founder.
  const growth = { companyName: 'Lumenforge', employees: 85, industry: 'Software', country: 'DE' };

  it('reads the best person the scoring rewards from the rules', () => {
    expect(bestPersonFields(scoring)).toEqual({ role: 'engineering' });
  });

  it('asks always without a rule (an older policy), under `always`, and when a person field is required', () => {
    expect(wantsPersonLookup(undefined, {}, [])).toBe(true);
    expect(wantsPersonLookup({ when: 'always' }, {}, [])).toBe(true);
    expect(wantsPersonLookup(rule, {}, ['seniority'])).toBe(true);
  });

  it('asks under `high_value` only when the best person or the funding makes the company high value', () => {
    expect(wantsPersonLookup(rule, growth, [])).toBe(true);
    expect(wantsPersonLookup(rule, { ...growth, country: 'BR', industry: 'Agriculture' }, [])).toBe(false);
    expect(wantsPersonLookup(rule, { ...growth, industry: 'Agriculture', totalFundingUsd: 30_000_000 }, [])).toBe(true);
    expect(wantsPersonLookup(rule, { ...growth, companyType: 'government' }, [])).toBe(false);
    expect(wantsPersonLookup(rule, { ...growth, industry: undefined }, [])).toBe(false);
    expect(wantsPersonLookup(rule, {}, [])).toBe(false);
  });
});
