/** Lower-cases and trims an address; returns undefined when it is not a plausible `local@domain`. */
export function normalizeEmail(raw: string): string | undefined {
  const email = raw.trim().toLowerCase();
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return undefined;
  const domain = email.slice(at + 1);
  if (!domain.includes('.') || /\s/.test(email)) return undefined;
  return email;
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
