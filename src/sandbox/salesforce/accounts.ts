import { createRng, type Company, type Dataset } from '../dataset';
import { LOCKED } from './seed';

/** What kind of Account a seeded row is; `SandboxAccountKind` is in the row's `Sandbox_Kind__c` for inspection. */
export type SandboxAccountKind = 'stale' | 'fresh' | 'missing_fields' | 'never_enriched' | 'personal' | 'no_website';

export interface AccountTableOptions {
  /** How many accounts (default 2,500; at most one per company of the data set plus the personal ones). */
  count?: number;
  /** "Now" for the ages of the enrichment stamps (default: the clock). */
  now?: number;
  /** The Account's external-id field for the company domain (default Company_Domain__c). */
  externalIdField?: string;
  seed?: number;
}

const DAY_MS = 86_400_000;
const PERSONAL_DOMAINS = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com'];
const TIERS = ['A', 'B', 'C', 'D'];

/**
 * A CRM's Account table as years of sales work leave it, built from the data set's companies (so the providers know
 * them): stale enrichments (older than a quarter, with last year's headcount), fresh ones, ones missing required
 * fields, accounts reps created by hand and never enriched, accounts named after a personal email domain, and
 * accounts without a website. Value signals vary: open opportunities (a roll-up), the ICP tier, the last activity.
 * About one stale account in a hundred is locked by an approval process (updates answer ENTITY_IS_LOCKED).
 * Deterministic for a seed and `now`.
 */
export function accountTable(dataset: Dataset, options: AccountTableOptions = {}): Record<string, unknown>[] {
  const count = options.count ?? 2500;
  const now = options.now ?? Date.now();
  const ext = options.externalIdField ?? 'Company_Domain__c';
  const rng = createRng(options.seed ?? dataset.seed);
  const daysAgo = (min: number, max: number) => new Date(now - (min + rng() * (max - min)) * DAY_MS).toISOString();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const value = () => ({
    Open_Opportunities__c: rng() < 0.7 ? 0 : 1 + Math.floor(rng() * 4),
    ICP_Tier__c: rng() < 0.2 ? null : pick(TIERS),
    LastActivityDate: rng() < 0.3 ? null : daysAgo(0, 200).slice(0, 10),
  });
  const firmographics = (c: Company, stale: boolean) => ({
    Industry: c.industry,
    NumberOfEmployees: stale ? Math.max(1, Math.round(c.employees * 0.7)) : c.employees,
    BillingCountry: c.country,
  });

  const rows: Record<string, unknown>[] = [];
  const companies = dataset.companies.filter((c) => !c.quirks);
  for (let i = 0; rows.length < count && i < companies.length; i++) {
    const c = companies[i]!;
    const base = { Name: c.name, Website: `https://www.${c.domain}`, [ext]: c.domain, ...value() };
    const draw = rng();
    let kind: SandboxAccountKind;
    let row: Record<string, unknown>;
    if (draw < 0.4) {
      kind = 'stale';
      row = { ...base, ...firmographics(c, true), Enriched_At__c: daysAgo(100, 500) };
      if (rng() < 0.01) row[LOCKED] = true;
    } else if (draw < 0.65) {
      kind = 'fresh';
      row = { ...base, ...firmographics(c, false), Enriched_At__c: daysAgo(1, 60) };
    } else if (draw < 0.8) {
      kind = 'missing_fields';
      const f = firmographics(c, false);
      row = {
        ...base,
        ...f,
        ...(rng() < 0.5 ? { Industry: null } : { NumberOfEmployees: null }),
        Enriched_At__c: daysAgo(10, 60),
      };
    } else if (draw < 0.9) {
      kind = 'never_enriched';
      row = { ...base, Website: `${c.domain}`, [ext]: null };
    } else if (draw < 0.95) {
      kind = 'personal';
      const domain = pick(PERSONAL_DOMAINS);
      row = { ...base, Name: `${c.people[0]?.lastName ?? c.name} (personal)`, Website: domain, [ext]: null };
    } else {
      kind = 'no_website';
      row = { ...base, Website: null, [ext]: null };
    }
    rows.push({ ...row, Sandbox_Kind__c: kind });
  }
  return rows;
}
