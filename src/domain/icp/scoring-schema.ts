import { z } from 'zod';
import { ICP_FIELDS, type IcpField } from './fields';

/**
 * The scoring rules' file format (config/icp-scoring.json), checked at start-up. Kept out of `scoring.ts`, which
 * workflow code imports: the SDK evaluates a workflow's modules once per execution, zod included.
 */

const field = z.enum(ICP_FIELDS as [IcpField, ...IcpField[]]);

const bandRule = z.strictObject({
  id: z.string().min(1),
  kind: z.literal('bands'),
  field,
  /** Inclusive bands over a numeric field; the first band that contains the value gives the points. */
  bands: z.array(z.strictObject({ min: z.number(), max: z.number().optional(), points: z.number().int() })).min(1),
});

const matchRule = z.strictObject({
  id: z.string().min(1),
  kind: z.literal('match'),
  field,
  /**
   * Points per value. A value matches a key when it equals it or contains it as whole words, case-insensitively
   * (providers name industries differently: "Software" matches Clearbit's "Internet Software & Services"); the best
   * match counts, and for a list field (industryTags) the best element.
   */
  points: z.record(z.string(), z.number().int()),
  otherwise: z.number().int().default(0),
});

export const scoringConfigSchema = z
  .strictObject({
    version: z.string().min(1),
    /** Without these fields a score would mislead: the status is `insufficient_data` instead. */
    requiredFields: z.array(field).min(1),
    disqualify: z
      .strictObject({
        companyTypes: z.array(z.string()).default([]),
        countries: z.array(z.string().regex(/^[A-Z]{2}$/)).default([]),
        maxEmployees: z.number().int().positive().optional(),
      })
      .default({ companyTypes: [], countries: [] }),
    rules: z.array(z.discriminatedUnion('kind', [bandRule, matchRule])).min(1),
    /** Highest `min` first: the first tier whose minimum the score reaches. */
    tiers: z.array(z.strictObject({ tier: z.string().min(1), min: z.number().int().min(0).max(100) })).min(1),
  })
  .superRefine((c, ctx) => {
    const ids = c.rules.map((r) => r.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'rule ids repeat' });
    const mins = c.tiers.map((t) => t.min);
    if (mins.some((m, i) => i > 0 && m >= mins[i - 1]!) || mins.at(-1) !== 0) {
      ctx.addIssue({ code: 'custom', path: ['tiers'], message: 'tiers must go from the highest minimum down to 0' });
    }
  });

export type ScoringConfig = z.infer<typeof scoringConfigSchema>;
