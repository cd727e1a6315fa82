import type { RecordStore, SandboxState, StoredRecord } from '../state';
import { duplicatesDetected, duplicatesOf, type DUPLICATE_RULES } from './duplicates';
import { notFound, SfFault } from './errors';
import { fieldKey, getField, isBlank, isPlainObject, text, type Fields } from './fields';
import { sfId } from './ids';
import type { OrgState } from './org';
import { findByExternalId, findById, recordUrl } from './records';
import { READ_ONLY_FIELDS, relationshipOf, SOBJECTS, type SalesforceSObject } from './sobjects';

/**
 * Single-record writes (create, update by id, upsert by external id) planned then committed, and sObject Collections
 * runs of them (allOrNone).
 */

export type WriteTarget =
  { kind: 'create' } | { kind: 'update'; id: string } | { kind: 'upsert'; field: string; value: string };

export interface WriteContext {
  state: SandboxState;
  store: RecordStore;
  org: OrgState;
  /** `/services/data/v62.0` */
  base: string;
  /** `Sforce-Duplicate-Rule-Header: allowSave=true` */
  allowSave: boolean;
  /** Inside sObject Collections (per-record error codes differ a little). */
  collection: boolean;
}

export interface PlannedWrite {
  type: SalesforceSObject;
  key: string;
  id: string;
  existing?: StoredRecord;
  fields: Fields;
  rekeyFrom?: string;
}

/** Validates one write and decides what it does; throws SfFault. Nothing is written until `commit`. */
export function planWrite(
  ctx: WriteContext,
  type: SalesforceSObject,
  input: Fields,
  target: WriteTarget,
): PlannedWrite {
  const { store } = ctx;
  const readOnly: string[] = [];
  const incoming: Fields = {};
  for (const [name, value] of Object.entries(input)) {
    if (name === 'attributes' || name.toLowerCase() === 'id') continue;
    if (READ_ONLY_FIELDS.has(name.toLowerCase())) {
      readOnly.push(name);
      continue;
    }
    if (isPlainObject(value)) {
      const [idField, id] = resolveReference(store, ctx.org, type, name, value);
      incoming[idField] = id;
      continue;
    }
    if (value !== null && typeof value === 'object') {
      throw new SfFault(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of ${name} from START_ARRAY value`);
    }
    incoming[name] = value;
  }
  if (readOnly.length > 0) {
    throw new SfFault(
      400,
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      readOnly,
    );
  }

  let existing: StoredRecord | undefined;
  if (target.kind === 'update') {
    existing = findById(store, ctx.org, type, target.id);
    if (!existing) {
      throw ctx.collection
        ? new SfFault(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [])
        : notFound();
    }
  } else if (target.kind === 'upsert') {
    const found = findByExternalId(store, ctx.org, type, target.field, target.value);
    if (found.length > 1) {
      const ids = found.map((r) => r.id);
      throw new SfFault(
        300,
        'DUPLICATE_EXTERNAL_ID',
        `${target.field}: more than one record found for external id field: [${ids.join(', ')}]`,
        [],
        undefined,
        found.map((r) => recordUrl(ctx.base, type, r.id)),
      );
    }
    existing = found[0];
    if (!existing && target.field.toLowerCase() === 'id') throw notFound();
    if (target.field.toLowerCase() !== 'id') incoming[target.field] = target.value;
  }

  if (existing && ctx.org.locked.has(existing.id.slice(0, 15))) {
    throw new SfFault(400, 'ENTITY_IS_LOCKED', 'the entity is locked for editing', []);
  }

  // Field names as already stored on the record, whatever case they come in.
  const fields: Fields = {};
  for (const [name, value] of Object.entries(incoming)) {
    fields[(existing && fieldKey(existing.fields, name)) ?? fieldKey(fields, name) ?? name] = value;
  }

  const merged = existing ? { ...existing.fields, ...fields } : fields;
  const missing = SOBJECTS[type].required.filter(
    (name) => isBlank(getField(merged, name)) && (!existing || fieldKey(fields, name) !== undefined),
  );
  if (missing.length > 0) {
    throw new SfFault(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, [
      ...missing,
    ]);
  }

  const email = getField(fields, 'Email');
  const invalidEmails = ctx.state.system('salesforce').control.invalidEmails;
  if (typeof email === 'string' && invalidEmails.some((e) => e.toLowerCase() === email.toLowerCase())) {
    throw new SfFault(400, 'INVALID_EMAIL_ADDRESS', `Email: invalid email address: ${email}`, ['Email']);
  }

  if (!existing && ctx.state.system('salesforce').control.duplicateRules && !ctx.allowSave) {
    const duplicates = duplicatesOf(store, type, fields);
    if (duplicates.length > 0) throw duplicatesDetected(ctx.base, type as keyof typeof DUPLICATE_RULES, duplicates);
  }

  if (existing) {
    const upsertKey = target.kind === 'upsert' && target.field.toLowerCase() !== 'id' ? target.value : undefined;
    const rekey =
      upsertKey !== undefined &&
      existing.key !== upsertKey &&
      existing.key === existing.id &&
      !store.get(type, upsertKey);
    return {
      type,
      key: rekey ? upsertKey : existing.key,
      id: existing.id,
      existing,
      fields,
      rekeyFrom: rekey ? existing.key : undefined,
    };
  }
  const id = sfId(SOBJECTS[type].prefix, ++ctx.org.nextId);
  const wantedKey = target.kind === 'upsert' ? target.value : id;
  return { type, key: store.get(type, wantedKey) ? id : wantedKey, id, fields };
}

export function commitWrite(ctx: WriteContext, plan: PlannedWrite): { record: StoredRecord; created: boolean } {
  if (plan.rekeyFrom !== undefined) ctx.store.rekey(plan.type, plan.rekeyFrom, plan.key);
  const result = ctx.store.upsert(plan.type, plan.key, plan.fields, () => plan.id);
  ctx.org.byId.set(result.record.id.slice(0, 15), result.record);
  return result;
}

export function resolveReference(
  store: RecordStore,
  org: OrgState,
  type: SalesforceSObject,
  name: string,
  reference: Record<string, unknown>,
): [string, string] {
  const attributes = reference.attributes;
  const relationship = relationshipOf(type, name, isPlainObject(attributes) ? attributes.type : undefined);
  if (!relationship) throw new SfFault(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type ${type}`, []);
  const keys = Object.keys(reference).filter((k) => k !== 'attributes');
  const [field] = keys;
  if (keys.length !== 1 || field === undefined) {
    throw new SfFault(
      400,
      'INVALID_FIELD',
      keys.length === 0
        ? `No external id field provided in an external foreign key reference in entity: ${relationship.target}`
        : `More than 1 field provided in an external foreign key reference in entity: ${relationship.target}`,
      [],
    );
  }
  const value = reference[field];
  const found = isBlank(value) ? [] : findByExternalId(store, org, relationship.target, field, text(value));
  if (found.length > 1) {
    throw new SfFault(
      400,
      'DUPLICATE_EXTERNAL_ID',
      `${field}: more than one record found for external id field: [${found.map((r) => r.id).join(', ')}]`,
      [],
    );
  }
  const [target] = found;
  if (!target) {
    throw new SfFault(
      400,
      'INVALID_FIELD',
      `Foreign key external ID: ${isBlank(value) ? '' : text(value)} not found for field ${field} in entity ${relationship.target}`,
      [],
    );
  }
  return [relationship.field, target.id];
}

/**
 * Runs the writes of an sObject Collections request in order. allOrNone: every record is validated first; one failure
 * fails them all (the others with ALL_OR_NONE_OPERATION_ROLLED_BACK) and nothing is written.
 */
export function runCollection(
  ctx: WriteContext,
  records: Fields[],
  allOrNone: boolean,
  plan: (record: Fields, index: number) => PlannedWrite,
  success: (result: { record: StoredRecord; created: boolean }) => Record<string, unknown>,
): Record<string, unknown>[] {
  const failed = (fault: SfFault) => ({ success: false, errors: [fault.collection()] });
  const attempt = (record: Fields, index: number): { plan: PlannedWrite } | { fault: SfFault } => {
    try {
      return { plan: plan(record, index) };
    } catch (err) {
      if (err instanceof SfFault) return { fault: err };
      throw err;
    }
  };
  if (!allOrNone) {
    return records.map((record, index) => {
      const planned = attempt(record, index);
      return 'fault' in planned ? failed(planned.fault) : success(commitWrite(ctx, planned.plan));
    });
  }
  const planned = records.map(attempt);
  if (planned.some((p) => 'fault' in p)) {
    const rolledBack = new SfFault(
      400,
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'Record rolled back because not all records were valid and the request was using AllOrNone header',
      [],
    );
    return planned.map((p) => failed('fault' in p ? p.fault : rolledBack));
  }
  return planned.map((p) => success(commitWrite(ctx, (p as { plan: PlannedWrite }).plan)));
}
