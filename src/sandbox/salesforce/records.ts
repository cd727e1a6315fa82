import type { RecordStore, StoredRecord } from '../state';
import { getField, text } from './fields';
import { ID_PATTERN } from './ids';
import type { OrgState } from './org';
import type { SalesforceSObject } from './sobjects';

export function findById(
  store: RecordStore,
  org: OrgState,
  type: SalesforceSObject,
  id: string,
): StoredRecord | undefined {
  const key = id.slice(0, 15);
  let record = org.byId.get(key);
  if (!record || record.type !== type || store.get(type, record.key) !== record) {
    for (const r of store.list(type)) org.byId.set(r.id.slice(0, 15), r);
    record = org.byId.get(key);
  }
  return record && record.type === type && store.get(type, record.key) === record ? record : undefined;
}

/** Records whose `field` holds `value` (case-insensitive for text); `Id` looks up by id. */
export function findByExternalId(
  store: RecordStore,
  org: OrgState,
  type: SalesforceSObject,
  field: string,
  value: string,
): StoredRecord[] {
  if (field.toLowerCase() === 'id') {
    const record = ID_PATTERN.test(value) ? findById(store, org, type, value) : undefined;
    return record ? [record] : [];
  }
  const wanted = value.toLowerCase();
  // A scan, not `store.get(type, value)`: the record may be keyed by its Id (created by POST or seeded), and a
  // second holder of the value must be seen (300 / DUPLICATE_EXTERNAL_ID).
  return store.list(type).filter(matches);

  function matches(record: StoredRecord): boolean {
    const v = getField(record.fields, field);
    return v !== undefined && v !== null && text(v).toLowerCase() === wanted;
  }
}

export function recordUrl(base: string, type: string, id: string): string {
  return `${base}/sobjects/${type}/${id}`;
}
