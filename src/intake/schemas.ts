import { z } from 'zod';
import { checkText, describePath, INTAKE_LIMITS } from './limits';

/** A string we read and store: no control characters, at most `max` characters. */
const text = (max: number) =>
  z.string().superRefine((value, ctx) => {
    const problem = checkText(value, max);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}` });
  });
/** An id PostHog may send as a string or a number. */
const id = z
  .union([z.string().min(1), z.number()])
  .transform(String)
  .pipe(text(INTAKE_LIMITS.maxIdLength));
const name = text(INTAKE_LIMITS.maxNameLength);

// PostHog adds fields to its webhook payload over time: every object is loose, only what we read is checked.
const properties = z.looseObject({}).nullish();

const organizationGroup = z.looseObject({
  id,
  type: z.string().optional(),
  index: z.number().optional(),
  url: z.string().optional(),
  properties,
});

export const posthogWebhookSchema = z.looseObject({
  event: z.looseObject({
    uuid: text(INTAKE_LIMITS.maxIdLength).pipe(z.string().min(1)),
    event: text(INTAKE_LIMITS.maxIdLength).pipe(z.string().min(1)),
    distinct_id: id,
    properties,
    timestamp: z.string().optional(),
    captured_at: z.string().nullish(),
    url: z.string().nullish(),
    elements_chain: z.string().nullish(),
  }),
  person: z
    .looseObject({
      id: text(INTAKE_LIMITS.maxIdLength).optional(),
      properties,
      name: name.nullish(),
      url: z.string().nullish(),
    })
    .nullish(),
  groups: z.looseObject({ organization: organizationGroup.nullish() }).nullish(),
  project: z.looseObject({}).nullish(),
});

export type PosthogWebhook = z.infer<typeof posthogWebhookSchema>;

export const directSignupSchema = z.strictObject({
  email: z.string().min(1).max(INTAKE_LIMITS.maxRawEmailLength),
  name: name.optional(),
  organizationId: text(INTAKE_LIMITS.maxIdLength).pipe(z.string().min(1)).optional(),
  organizationName: name.optional(),
  signedUpAt: z.iso.datetime({ offset: true }).optional(),
  source: text(INTAKE_LIMITS.maxSourceLength).pipe(z.string().min(1)).optional(),
});

export type DirectSignup = z.infer<typeof directSignupSchema>;

/** The `issues` list of a 400 answer: one entry per problem, each with its path in the body. */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: describePath(i.path), message: i.message }));
}
