import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config';
import { classifyTitle, employeeRangeOf, ICP_FIELDS, type IcpFields } from '../../../src/domain/icp/fields';
import { icpFieldsSchema } from '../../../src/domain/icp/fields-schema';
import { scoreIcp } from '../../../src/domain/icp/scoring';
import { scoringConfigSchema, type ScoringConfig } from '../../../src/domain/icp/scoring-schema';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const config: ScoringConfig = loadConfig({}).scoring;

interface Case {
  name: string;
  fields: IcpFields;
  expected: { status: string; score?: number; tier?: string; missingFields?: string[] };
}
const cases = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/icp/scoring-cases.json'), 'utf8')) as Case[];

describe('scoreIcp with the default config (config/icp-scoring.json)', () => {
  it.each(cases)('$name', ({ fields, expected }) => {
    expect(icpFieldsSchema.parse(fields)).toEqual(fields);
    const result = scoreIcp(fields, config, sha256);
    expect(result).toMatchObject({ ...expected, configVersion: config.version });
    if (expected.status === 'scored') {
      expect(Object.values(result.points).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(expected.score!);
    }
  });

  it('names every field of the schema in ICP_FIELDS, company fields first', () => {
    expect(ICP_FIELDS).toEqual(Object.keys(icpFieldsSchema.shape));
  });

  it('hashes exactly the inputs it reads, with the config version', () => {
    const fields = cases[0]!.fields;
    const a = scoreIcp(fields, config, sha256);
    expect(a.inputHash).toMatch(/^[0-9a-f]{64}$/);
    expect(scoreIcp({ ...fields, personTitle: 'Staff Engineer' }, config, sha256).inputHash).toBe(a.inputHash);
    expect(scoreIcp({ ...fields, employees: 86 }, config, sha256).inputHash).not.toBe(a.inputHash);
    expect(scoreIcp(fields, { ...config, version: 'next' }, sha256).inputHash).not.toBe(a.inputHash);
  });
});

describe('scoringConfigSchema', () => {
  it('rejects tiers that do not descend to 0 and repeated rule ids', () => {
    const bad = { ...config, tiers: [{ tier: 'A', min: 50 }], rules: [config.rules[0], config.rules[0]] };
    const result = scoringConfigSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['rules', 'tiers']);
  });

  it('stops start-up naming the file and the problem', () => {
    expect(() => loadConfig({ ICP_SCORING_CONFIG: '/nonexistent/icp.json' })).toThrow(
      /ICP_SCORING_CONFIG.*nonexistent/,
    );
  });
});

describe('field helpers', () => {
  it.each([
    [1, '1-10'],
    [10, '1-10'],
    [11, '11-50'],
    [200, '51-200'],
    [4999, '1001-5000'],
    [25000, '10001+'],
  ])('%i employees is %s', (n, range) => {
    expect(employeeRangeOf(n)).toBe(range);
  });

  it.each([
    ['Co-Founder & CEO', 'founder', 'executive'],
    ['Senior Software Engineer', 'engineering', 'senior'],
    ['VP Engineering', 'engineering', 'director'],
    ['Head of Data', 'data', 'director'],
    ['Product Manager', 'product', 'manager'],
    ['Growth Marketing Lead', 'marketing', 'manager'],
    ['Account Executive', 'sales', 'individual_contributor'],
    ['Office Administrator', 'other', 'individual_contributor'],
  ])('%s → %s, %s', (title, role, seniority) => {
    expect(classifyTitle(title)).toEqual({ role, seniority });
  });
});
