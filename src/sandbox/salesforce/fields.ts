import type { StoredRecord } from '../state';
import { sfDate } from './ids';
import { SYSTEM_FIELDS } from './sobjects';

/** Field access without a schema: names match case-insensitively, unset fields read as `null`. */

export type Fields = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The stored name of a field, matched case-insensitively. */
export function fieldKey(fields: Fields, name: string): string | undefined {
  if (Object.hasOwn(fields, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(fields).find((k) => k.toLowerCase() === lower);
}

export function getField(fields: Fields, name: string): unknown {
  const key = fieldKey(fields, name);
  return key === undefined ? undefined : fields[key];
}

export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

export function fieldValue(record: StoredRecord, name: string): unknown {
  switch (name.toLowerCase()) {
    case 'id':
      return record.id;
    case 'createddate':
      return sfDate(record.createdAt);
    case 'lastmodifieddate':
    case 'systemmodstamp':
      return sfDate(record.updatedAt);
    case 'isdeleted':
      return false;
    default: {
      const value = getField(record.fields, name);
      return value === undefined ? null : value;
    }
  }
}

/** The name a field is answered under: the system field's own spelling, the stored one, else as asked. */
export function outputName(record: StoredRecord | undefined, name: string): string {
  return SYSTEM_FIELDS[name.toLowerCase()] ?? (record && fieldKey(record.fields, name)) ?? name;
}
