const byName = new Map<string, string>();
// Codes ICU still names that are not current ISO 3166-1 alpha-2 assignments (reserved, withdrawn, groupings).
const NOT_ASSIGNED = new Set([
  ...['AN', 'BU', 'CS', 'DD', 'DY', 'EU', 'EZ', 'FX', 'HV', 'NH', 'NT', 'QO', 'RH', 'SU', 'TP'],
  ...['UK', 'UN', 'VD', 'YD', 'YU', 'ZR'],
]);
const display = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
for (let a = 65; a <= 90; a++) {
  for (let b = 65; b <= 90; b++) {
    const code = String.fromCharCode(a, b);
    const name = NOT_ASSIGNED.has(code) ? undefined : display.of(code);
    if (name) byName.set(name.toLowerCase(), code);
  }
}
// Spellings providers use that differ from CLDR's English names.
for (const [name, code] of [
  ['usa', 'US'],
  ['united states of america', 'US'],
  ['uk', 'GB'],
  ['england', 'GB'],
  ['great britain', 'GB'],
  ['south korea', 'KR'],
  ['czech republic', 'CZ'],
  ['russia', 'RU'],
] as const) {
  byName.set(name, code);
}

/** ISO 3166-1 alpha-2 code for a country given as a code or an English name; undefined when unknown. */
export function countryCode(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  const name = /^[A-Za-z]{2}$/.test(v) ? display.of(v.toUpperCase()) : v;
  return name ? byName.get(name.toLowerCase()) : undefined;
}
