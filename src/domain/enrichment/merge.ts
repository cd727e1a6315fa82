import type { IcpField, IcpFields } from '../icp/fields';

/** Which source supplied a field, and when (ISO time). `cache` is the ledger's domain cache. */
export interface FieldSource {
  source: string;
  at: string;
}

export type Provenance = Partial<Record<IcpField, FieldSource>>;

/** Per-field ranking of sources, best first; fields not listed keep the first value found (cost order). */
export type FieldPreference = Partial<Record<IcpField, string[]>>;

export interface MergeResult {
  fields: IcpFields;
  provenance: Provenance;
  /** Fields this merge set or replaced. */
  filled: IcpField[];
}

/**
 * Merges one source's answer into what is known. A field is taken when it is still missing, or when the field's
 * preference ranks this source above the one that supplied it (e.g. Harmonic's industry tags over Clearbit's).
 */
export function mergeFields(
  current: { fields: IcpFields; provenance: Provenance },
  incoming: IcpFields,
  source: FieldSource,
  preference: FieldPreference = {},
): MergeResult {
  const fields: Record<string, unknown> = { ...current.fields };
  const provenance: Provenance = { ...current.provenance };
  const filled: IcpField[] = [];
  for (const [key, value] of Object.entries(incoming) as [IcpField, unknown][]) {
    if (value === undefined || value === null) continue;
    const existing = provenance[key];
    if (
      fields[key] === undefined ||
      existing === undefined ||
      outranks(source.source, existing.source, preference[key])
    ) {
      fields[key] = value;
      provenance[key] = source;
      filled.push(key);
    }
  }
  return { fields, provenance, filled };
}

function outranks(candidate: string, holder: string, ranking: string[] | undefined): boolean {
  if (!ranking) return false;
  const c = ranking.indexOf(candidate);
  if (c === -1) return false;
  const h = ranking.indexOf(holder);
  return h === -1 || c < h;
}

export function missingFields(fields: IcpFields, wanted: readonly IcpField[]): IcpField[] {
  return wanted.filter((f) => {
    const v = fields[f];
    return v === undefined || (Array.isArray(v) && v.length === 0);
  });
}
