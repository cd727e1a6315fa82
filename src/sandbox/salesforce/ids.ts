// Record ids and Salesforce's date-time format.

/** Salesforce's case-safe suffix: one character per 5-character chunk, a bit per upper-case letter. */
function idSuffix(id15: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += alphabet.charAt(bits);
  }
  return suffix;
}

export function sfId(prefix: string, sequence: number): string {
  const id15 = `${prefix}SB${String(sequence).padStart(10, '0')}`;
  return id15 + idSuffix(id15);
}

export const ORG_ID = sfId('00D', 1);
export const USER_ID = sfId('005', 1);
export const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** `2026-11-24T09:00:00.000Z` → `2026-11-24T09:00:00.000+0000`, Salesforce's date-time format. */
export function sfDate(iso: string): string {
  return iso.endsWith('Z') ? `${iso.slice(0, -1)}+0000` : iso;
}
