import type { FastifyInstance } from 'fastify';
import { sandboxStateOf, type SandboxState } from '../state';
import { getField, isBlank, text, type Fields } from './fields';
import { sfId } from './ids';
import { SOBJECTS, type SalesforceSObject } from './sobjects';

// Seeding (tests and the dev stack): records that already exist in the org.

export interface SalesforceSeedOptions {
  /** Key the records by this field's value (as if upserted by it); records without it are keyed by their Id. */
  externalIdField?: string;
}

/** A seeded record with `[LOCKED]: true` is locked by an approval process: every update answers ENTITY_IS_LOCKED. */
export const LOCKED = '_lockedByApproval';

/**
 * Inserts records that already exist in the org, without the API's checks (required fields, duplicate rules) and
 * without counting API requests. `CreatedDate` / `LastModifiedDate` in a record set its timestamps. Returns the ids.
 * `target` is the sandbox state or the Fastify instance `buildSandbox` returned.
 */
export function seedSalesforceRecords(
  target: SandboxState | FastifyInstance,
  type: SalesforceSObject,
  records: readonly Record<string, unknown>[],
  options: SalesforceSeedOptions = {},
): string[] {
  const state = sandboxStateOf(target, 'seedSalesforce');
  const store = state.records.salesforce;
  const org = state.salesforceOrg;
  return records.map((input) => {
    const fields: Fields = {};
    let createdAt: string | undefined;
    let updatedAt: string | undefined;
    for (const [name, value] of Object.entries(input)) {
      const lower = name.toLowerCase();
      if (name === 'attributes' || lower === 'id' || name === LOCKED) continue;
      if (lower === 'createddate' || lower === 'lastmodifieddate') {
        const t = typeof value === 'string' ? Date.parse(value) : NaN;
        if (Number.isNaN(t)) throw new Error(`seedSalesforce: ${name} is not a date-time: ${text(value)}`);
        if (lower === 'createddate') createdAt = new Date(t).toISOString();
        else updatedAt = new Date(t).toISOString();
        continue;
      }
      fields[name] = value;
    }
    const id = sfId(SOBJECTS[type].prefix, ++org.nextId);
    const external = options.externalIdField ? getField(fields, options.externalIdField) : undefined;
    const key = isBlank(external) || store.get(type, text(external)) ? id : text(external);
    const { record } = store.upsert(type, key, fields, () => id);
    if (createdAt) record.createdAt = createdAt;
    if (updatedAt ?? createdAt) record.updatedAt = (updatedAt ?? createdAt) as string;
    org.byId.set(id.slice(0, 15), record);
    if (input[LOCKED] === true) org.locked.add(record.id.slice(0, 15));
    return record.id;
  });
}

/** Pre-existing Accounts (e.g. one with `Website: 'https://www.quorvalis.com'` to exercise the duplicate rule). */
export function seedSalesforceAccounts(
  target: SandboxState | FastifyInstance,
  accounts: readonly Record<string, unknown>[],
  options: SalesforceSeedOptions = {},
): string[] {
  return seedSalesforceRecords(target, 'Account', accounts, options);
}
