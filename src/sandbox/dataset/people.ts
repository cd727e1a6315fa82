import type { Company, Coverage, Person, Role, Seniority } from './model';
import { hash32 } from './random';

/** People: the titles a role and seniority give, and how a person's email and LinkedIn handle are made. */

const FUNCTION_LABELS: Record<Role, string> = {
  ceo: 'Executive',
  founder: 'Founding Team',
  engineering: 'Engineering',
  product: 'Product',
  sales: 'Sales',
  marketing: 'Marketing',
  finance: 'Finance',
  operations: 'Operations',
  human_resources: 'People',
  customer_service: 'Customer Success',
  legal: 'Legal',
};
const EXECUTIVE_TITLES: Partial<Record<Role, string>> = {
  ceo: 'Chief Executive Officer',
  founder: 'Co-Founder',
  engineering: 'Chief Technology Officer',
  product: 'Chief Product Officer',
  sales: 'Chief Revenue Officer',
  marketing: 'Chief Marketing Officer',
  finance: 'Chief Financial Officer',
  operations: 'Chief Operating Officer',
  human_resources: 'Chief People Officer',
};
const IC_TITLES: Record<Role, string> = {
  ceo: 'Chief Executive Officer',
  founder: 'Co-Founder',
  engineering: 'Software Engineer',
  product: 'Product Analyst',
  sales: 'Account Executive',
  marketing: 'Growth Marketer',
  finance: 'Financial Analyst',
  operations: 'Operations Associate',
  human_resources: 'Recruiter',
  customer_service: 'Customer Success Specialist',
  legal: 'Legal Counsel',
};
export const EXECUTIVE_ROLES: Role[] = [
  'ceo',
  'founder',
  'engineering',
  'finance',
  'marketing',
  'sales',
  'operations',
  'product',
];
export const FUNCTION_ROLES: Role[] = [
  'engineering',
  'product',
  'sales',
  'marketing',
  'finance',
  'operations',
  'human_resources',
  'customer_service',
  'legal',
];

export function titleFor(role: Role, seniority: Seniority): string {
  const label = FUNCTION_LABELS[role];
  switch (seniority) {
    case 'executive':
      return EXECUTIVE_TITLES[role] ?? `VP of ${label}`;
    case 'director':
      return `Director of ${label}`;
    case 'manager':
      return `${label} Manager`;
    case 'individual_contributor':
      return IC_TITLES[role];
  }
}

export function makePerson(
  company: Pick<Company, 'domain' | 'people'>,
  id: number,
  firstName: string,
  lastName: string,
  job: { role: Role; seniority: Seniority },
  knownBy: Coverage,
): Person {
  const first = asciiSlug(firstName);
  const last = asciiSlug(lastName);
  const taken = new Set(company.people.map((p) => p.email));
  let local = `${first}.${last}`;
  if (taken.has(`${local}@${company.domain}`)) local = `${first}${last.slice(0, 1)}${id % 100}`;
  return {
    id,
    firstName,
    lastName,
    email: `${local}@${company.domain}`,
    title: titleFor(job.role, job.seniority),
    role: job.role,
    seniority: job.seniority,
    linkedinHandle: `${first}-${last}-${(hash32(`${id}:${company.domain}`) % 0xffff).toString(16).padStart(4, '0')}`,
    knownBy,
  };
}

function asciiSlug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
