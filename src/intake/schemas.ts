import { z } from 'zod';

// PostHog adds fields to its webhook payload over time: every object is loose, only what we read is checked.
const properties = z.looseObject({}).nullish();

const organizationGroup = z.looseObject({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  type: z.string().optional(),
  index: z.number().optional(),
  url: z.string().optional(),
  properties,
});

export const posthogWebhookSchema = z.looseObject({
  event: z.looseObject({
    uuid: z.string().min(1),
    event: z.string().min(1),
    distinct_id: z.union([z.string().min(1), z.number()]).transform(String),
    properties,
    timestamp: z.string().optional(),
    captured_at: z.string().nullish(),
    url: z.string().nullish(),
    elements_chain: z.string().nullish(),
  }),
  person: z
    .looseObject({
      id: z.string().optional(),
      properties,
      name: z.string().nullish(),
      url: z.string().nullish(),
    })
    .nullish(),
  groups: z.looseObject({ organization: organizationGroup.nullish() }).nullish(),
  project: z.looseObject({}).nullish(),
});

export type PosthogWebhook = z.infer<typeof posthogWebhookSchema>;

export const directSignupSchema = z.strictObject({
  email: z.string().min(1),
  name: z.string().optional(),
  organizationId: z.string().min(1).optional(),
  organizationName: z.string().optional(),
  signedUpAt: z.iso.datetime({ offset: true }).optional(),
  source: z.string().min(1).max(64).optional(),
});

export type DirectSignup = z.infer<typeof directSignupSchema>;

/** The `issues` list of a 400 answer: one entry per problem, each with its path in the body. */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.length > 0 ? i.path.join('.') : '(body)', message: i.message }));
}
