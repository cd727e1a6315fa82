import { PERSON_FIELDS, type IcpField, type IcpFields } from './fields';
import type { ScoringConfig } from './scoring-schema';

export type { ScoringConfig } from './scoring-schema';

export type ScoreStatus = 'scored' | 'insufficient_data' | 'not_found' | 'disqualified';

export interface IcpScore {
  status: ScoreStatus;
  /** 0–100; 0 when disqualified; undefined when there is not enough to score. */
  score: number | undefined;
  tier: string | undefined;
  /** Points each rule gave, by rule id. */
  points: Record<string, number>;
  missingFields: IcpField[];
  reason: string | undefined;
  configVersion: string;
  /** Hash of the config version and the fields the rules read: equal hashes mean an equal score. */
  inputHash: string;
}

/**
 * Scores a company + person against the ICP. Pure and deterministic; the hash function is passed in so this file
 * stays free of Node built-ins (callers use SHA-256).
 */
export function scoreIcp(fields: IcpFields, config: ScoringConfig, hash: (text: string) => string): IcpScore {
  const read = new Set<IcpField>([
    ...config.requiredFields,
    ...config.rules.map((r) => r.field),
    'companyName',
    'domain',
    'companyType',
    'country',
    'employees',
  ]);
  const inputs = Object.fromEntries([...read].sort().map((f) => [f, fields[f] ?? null]));
  const base = {
    configVersion: config.version,
    inputHash: hash(JSON.stringify({ version: config.version, inputs })),
    points: {} as Record<string, number>,
  };
  const missingFields = config.requiredFields.filter((f) => isMissing(fields[f]));

  const knowsCompany = !isMissing(fields.companyName) || !isMissing(fields.employees) || !isMissing(fields.industry);
  if (!knowsCompany) {
    return {
      ...base,
      status: 'not_found',
      score: undefined,
      tier: undefined,
      missingFields,
      reason: 'no company data',
    };
  }

  const dq = disqualification(fields, config);
  if (dq) {
    return { ...base, status: 'disqualified', score: 0, tier: config.tiers.at(-1)!.tier, missingFields, reason: dq };
  }
  if (missingFields.length > 0) {
    return {
      ...base,
      status: 'insufficient_data',
      score: undefined,
      tier: undefined,
      missingFields,
      reason: `missing ${missingFields.join(', ')}`,
    };
  }

  for (const rule of config.rules) base.points[rule.id] = rulePoints(rule, fields);
  const score = Math.max(
    0,
    Math.min(
      100,
      Object.values(base.points).reduce((a, b) => a + b, 0),
    ),
  );
  const tier = config.tiers.find((t) => score >= t.min)!.tier;
  return { ...base, status: 'scored', score, tier, missingFields, reason: undefined };
}

/**
 * The person values (role, seniority, title) that score highest under `config`, each the key of its best match
 * points: the most a person lookup could add to a company's score. Fields no rule rewards are left out.
 */
export function bestPersonFields(config: ScoringConfig): IcpFields {
  const best: Record<string, string> = {};
  for (const field of PERSON_FIELDS) {
    const rules = config.rules.filter((r) => r.field === field);
    const total = (fields: IcpFields) => rules.reduce((sum, r) => sum + rulePoints(r, fields), 0);
    let top = { value: undefined as string | undefined, points: total({}) };
    for (const rule of rules) {
      if (rule.kind !== 'match') continue;
      for (const value of Object.keys(rule.points)) {
        const points = total({ [field]: value });
        if (points > top.points) top = { value, points };
      }
    }
    if (top.value !== undefined) best[field] = top.value;
  }
  return best;
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0);
}

function disqualification(fields: IcpFields, config: ScoringConfig): string | undefined {
  const { companyTypes, countries, maxEmployees } = config.disqualify;
  if (fields.companyType && companyTypes.includes(fields.companyType)) return `company type ${fields.companyType}`;
  if (fields.country && countries.includes(fields.country)) return `country ${fields.country}`;
  if (maxEmployees !== undefined && fields.employees !== undefined && fields.employees > maxEmployees) {
    return `more than ${maxEmployees} employees`;
  }
  return undefined;
}

function rulePoints(rule: ScoringConfig['rules'][number], fields: IcpFields): number {
  const value = fields[rule.field];
  if (rule.kind === 'bands') {
    if (typeof value !== 'number') return 0;
    return rule.bands.find((b) => value >= b.min && (b.max === undefined || value <= b.max))?.points ?? 0;
  }
  const values = Array.isArray(value) ? value : value === undefined ? [] : [String(value)];
  const matched = values.flatMap((v) =>
    Object.entries(rule.points)
      .filter(([key]) => matchesWords(v, key))
      .map(([, points]) => points),
  );
  return matched.length > 0 ? Math.max(...matched) : rule.otherwise;
}

function matchesWords(value: string, key: string): boolean {
  const escaped = key.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9_])${escaped}($|[^a-z0-9_])`).test(value.toLowerCase());
}
