import { z } from 'zod';

// Harmonic's REST company and person objects. Only what we map is checked; unknown fields pass.
const s = z.string().nullish();
const n = z.number().nullish();
const tag = z.looseObject({ display_value: s, type: s, is_primary: z.boolean().nullish() });

export const harmonicCompanySchema = z.looseObject({
  entity_urn: s,
  name: s,
  legal_name: s,
  website: z.looseObject({ url: s, domain: s }).nullish(),
  headcount: n,
  stage: s,
  company_type: s,
  founding_date: z.looseObject({ date: s }).nullish(),
  location: z.looseObject({ country: s, city: s, state: s }).nullish(),
  funding: z.looseObject({ funding_total: n, funding_stage: s }).nullish(),
  tags: z.array(tag).nullish(),
  tags_v2: z.array(tag).nullish(),
});

export const harmonicPersonSchema = z.looseObject({
  entity_urn: s,
  full_name: s,
  experience: z
    .array(z.looseObject({ title: s, is_current_position: z.boolean().nullish(), department: s, role_type: s }))
    .nullish(),
});

/** 404 body when Harmonic does not know the company yet and has scheduled its enrichment. */
export const harmonicNotFoundSchema = z.looseObject({ enrichment_urn: z.string().min(1) });

export const harmonicEnrichmentStatusSchema = z.array(
  z.looseObject({
    urn: z.string(),
    status: z.string(),
    enriched_entity_urn: s,
  }),
);

export type HarmonicCompany = z.infer<typeof harmonicCompanySchema>;
export type HarmonicPerson = z.infer<typeof harmonicPersonSchema>;
