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

/**
 * 404 body when Harmonic does not know the company yet and has scheduled its enrichment (and a 201's, should one
 * carry an urn). The urn sits under `detail` (FastAPI-style errors); a top-level one is accepted too.
 */
export const harmonicEnrichmentUrnSchema = z.union([
  z
    .looseObject({ detail: z.looseObject({ enrichment_urn: z.string().min(1) }) })
    .transform((b) => b.detail.enrichment_urn),
  z.looseObject({ enrichment_urn: z.string().min(1) }).transform((b) => b.enrichment_urn),
]);

export const harmonicEnrichmentStatusSchema = z.array(
  z
    .looseObject({ entity_urn: s, urn: s, status: z.string(), enriched_entity_urn: s })
    .refine((e) => Boolean(e.entity_urn ?? e.urn), 'entity_urn missing'),
);

/**
 * Harmonic's FastAPI validation error (422): `{ "detail": [{ "loc", "msg", "type" }] }`. Other errors carry a string
 * `detail`, or Harmonic's own `{ "error": "<CODE>", ... }` (the monthly quota).
 */
export const harmonicValidationErrorSchema = z.looseObject({
  detail: z
    .array(
      z.looseObject({
        type: z.string().min(1),
        msg: z.string().nullish(),
        loc: z.array(z.union([z.string(), z.number()])).nullish(),
      }),
    )
    .min(1),
});
export const harmonicCodedErrorSchema = z.looseObject({ error: z.string().min(1) });

export type HarmonicCompany = z.infer<typeof harmonicCompanySchema>;
export type HarmonicPerson = z.infer<typeof harmonicPersonSchema>;
