import type { Company, Dataset, Person } from './model';

/** How the simulators find a company or a person in the data set from what a request names. */

/** `https://www.Example.com/path` → `example.com`. */
export function normalizeDomain(input: string): string {
  let d = input.trim().toLowerCase();
  d = d.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  d = d.split(/[/?#]/, 1)[0] ?? '';
  d = d.replace(/:\d+$/, '').replace(/\.$/, '');
  return d.startsWith('www.') ? d.slice(4) : d;
}

export function findCompanyByDomain(dataset: Dataset, domain: string): Company | undefined {
  return dataset.byDomain.get(normalizeDomain(domain));
}

export function findPersonByEmail(dataset: Dataset, email: string): { person: Person; company: Company } | undefined {
  return dataset.byEmail.get(email.trim().toLowerCase());
}

/** The company behind an email's domain, whether or not the person is known. */
export function findCompanyByEmail(dataset: Dataset, email: string): Company | undefined {
  const at = email.lastIndexOf('@');
  return at < 0 ? undefined : findCompanyByDomain(dataset, email.slice(at + 1));
}

export function findPersonByLinkedinUrl(
  dataset: Dataset,
  url: string,
): { person: Person; company: Company } | undefined {
  const match = /linkedin\.com\/in\/([^/?#]+)/i.exec(url);
  return match?.[1] ? dataset.byLinkedinHandle.get(match[1].toLowerCase()) : undefined;
}
