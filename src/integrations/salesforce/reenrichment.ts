import type { Provenance } from '../../domain/enrichment/merge';
import type { IcpField, IcpFields } from '../../domain/icp/fields';
import { ACCOUNT_FIELD_OF, describeSources, firmographics, policyOf, type FieldWritePolicy } from './mapping';

/** The Account fields the weekend re-enrichment stamps: when, from which sources, and by which run. */
export const ENRICHED_AT = 'Enriched_At__c';
export const ENRICHMENT_STATUS = 'Enrichment_Status__c';
export const ENRICHMENT_SOURCES = 'Enrichment_Sources__c';
/** The run that last wrote the Account: a retried write-back skips the records that already carry it. */
export const ENRICHMENT_RUN = 'Enrichment_Run_Id__c';

export interface SelectionOptions {
  externalIdField: string;
  requiredFields: readonly IcpField[];
  /** ISO times: enriched before `staleBefore` is stale; incomplete and tried before `incompleteBefore` is retried. */
  staleBefore: string;
  incompleteBefore: string;
  orderBy: string;
  extraWhere: string;
}

/** SOQL's date-time literal: `2026-11-28T02:00:00Z`. */
const soqlDateTime = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;

/** The Account fields of the ICP fields a signup is `enriched` with (company fields only). */
export function requiredAccountFields(required: readonly IcpField[]): string[] {
  return required.flatMap((f) => (f in ACCOUNT_FIELD_OF ? [ACCOUNT_FIELD_OF[f as keyof typeof ACCOUNT_FIELD_OF]] : []));
}

/**
 * The selection: Accounts with a website whose enrichment is missing or older than the freshness window, or that
 * miss a required ICP field and were not tried recently; most valuable first (the ORDER BY is configurable).
 */
export function selectionSoql(o: SelectionOptions): string {
  const fields = [
    ...new Set(['Id', 'Name', 'Website', o.externalIdField, ENRICHED_AT, ...Object.values(ACCOUNT_FIELD_OF)]),
  ];
  const required = requiredAccountFields(o.requiredFields);
  const incomplete =
    required.length > 0
      ? ` OR ((${required.map((f) => `${f} = null`).join(' OR ')}) AND ${ENRICHED_AT} < ${soqlDateTime(o.incompleteBefore)})`
      : '';
  const where = [
    'Website != null',
    `(${ENRICHED_AT} = null OR ${ENRICHED_AT} < ${soqlDateTime(o.staleBefore)}${incomplete})`,
    ...(o.extraWhere.trim() ? [`(${o.extraWhere.trim()})`] : []),
  ];
  return `SELECT ${fields.join(', ')} FROM Account WHERE ${where.join(' AND ')} ORDER BY ${o.orderBy}`;
}

const blank = (v: unknown) => v === null || v === undefined || v === '';
const same = (a: unknown, b: unknown) => (blank(a) && blank(b)) || String(a) === String(b);

/**
 * What to write on an Account after a re-enrichment: the ICP fields under the write policy (`fill_empty` fields only
 * where the Account has no value), the fields that actually change, and the stamps (time of the data, sources,
 * status, run). `current` is the Account as the selection read it: no extra read per record.
 */
export function accountUpdate(
  accountId: string,
  current: Record<string, unknown>,
  fields: IcpFields,
  provenance: Provenance,
  o: { policy: Record<string, FieldWritePolicy>; complete: boolean; runId: string; at: string },
): { update: Record<string, unknown>; changed: string[] } {
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(firmographics(fields))) {
    if (value === undefined) continue;
    if (policyOf(field, o.policy) === 'fill_empty' && !blank(current[field])) continue;
    if (!same(current[field], value)) changes[field] = value;
  }
  return {
    update: {
      Id: accountId,
      ...changes,
      [ENRICHED_AT]: o.at,
      [ENRICHMENT_SOURCES]: describeSources(provenance),
      [ENRICHMENT_STATUS]: o.complete ? 'enriched' : 'partial',
      [ENRICHMENT_RUN]: o.runId,
    },
    changed: Object.keys(changes),
  };
}
