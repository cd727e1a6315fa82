import { z } from 'zod';
import { COMPANY_TYPES, EMPLOYEE_RANGES, FUNDING_STAGES, ROLES, SENIORITIES, type IcpFields } from './fields';

/**
 * `IcpFields` as a zod schema, for code that validates fields from outside. Kept out of `fields.ts`, which workflow
 * code imports: the SDK evaluates a workflow's modules once per execution, zod included.
 */
export const icpFieldsSchema = z.strictObject({
  companyName: z.string().min(1).optional(),
  domain: z.string().min(3).optional(),
  employees: z.number().int().nonnegative().optional(),
  employeeRange: z.enum(EMPLOYEE_RANGES).optional(),
  industry: z.string().min(1).optional(),
  industryTags: z.array(z.string().min(1)).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case')
    .optional(),
  totalFundingUsd: z.number().nonnegative().optional(),
  fundingStage: z.enum(FUNDING_STAGES).optional(),
  foundedYear: z.number().int().min(1800).max(2100).optional(),
  companyType: z.enum(COMPANY_TYPES).optional(),
  personTitle: z.string().min(1).optional(),
  role: z.enum(ROLES).optional(),
  seniority: z.enum(SENIORITIES).optional(),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The schema and the type say the same thing: a field added to one and not the other fails the type-check.
export const _schemaMatchesType: Same<z.infer<typeof icpFieldsSchema>, IcpFields> = true;
