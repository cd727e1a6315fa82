const byName = new Map<string, string>();
const display = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
for (let a = 65; a <= 90; a++) {
  for (let b = 65; b <= 90; b++) {
    const code = String.fromCharCode(a, b);
    const name = display.of(code);
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
  if (/^[A-Za-z]{2}$/.test(v)) {
    const code = v.toUpperCase();
    return display.of(code) ? code : undefined;
  }
  return byName.get(v.toLowerCase());
}
