import { normalizeDomain } from '../dataset';
import type { RecordStore, StoredRecord } from '../state';
import { SfFault } from './errors';
import { getField, type Fields } from './fields';
import { recordUrl } from './records';
import type { SalesforceSObject } from './sobjects';

/**
 * The standard duplicate rules (inserts only): Account by Website domain, Contact by Email; "allow with alert", so
 * the error says `allowSave: true`.
 */

export const DUPLICATE_RULES = {
  Account: { rule: 'Standard_Account_Duplicate_Rule', matchRule: 'Standard_Account_Match_Rule_v1_0' },
  Contact: { rule: 'Standard_Contact_Duplicate_Rule', matchRule: 'Standard_Contact_Match_Rule_v1_1' },
} as const;

export function duplicatesOf(store: RecordStore, type: SalesforceSObject, fields: Fields): StoredRecord[] {
  if (type === 'Account') {
    const website = getField(fields, 'Website');
    const domain = typeof website === 'string' ? normalizeDomain(website) : '';
    if (!domain) return [];
    return store.list('Account').filter((r) => {
      const other = getField(r.fields, 'Website');
      return typeof other === 'string' && normalizeDomain(other) === domain;
    });
  }
  if (type === 'Contact') {
    const email = getField(fields, 'Email');
    const wanted = typeof email === 'string' ? email.trim().toLowerCase() : '';
    if (!wanted) return [];
    return store.list('Contact').filter((r) => {
      const other = getField(r.fields, 'Email');
      return typeof other === 'string' && other.trim().toLowerCase() === wanted;
    });
  }
  return [];
}

export function duplicatesDetected(base: string, type: keyof typeof DUPLICATE_RULES, matches: StoredRecord[]): SfFault {
  const rule = DUPLICATE_RULES[type];
  return new SfFault(400, 'DUPLICATES_DETECTED', 'Use one of these records?', [], {
    duplicateResult: {
      allowSave: true,
      duplicateRule: rule.rule,
      duplicateRuleEntityType: type,
      errorMessage: "You're creating a duplicate record. We recommend you use an existing record instead.",
      matchResults: [
        {
          entityType: type,
          errors: [],
          matchEngine: 'FuzzyMatchEngine',
          matchRecords: matches.map((r) => ({
            additionalInformation: [],
            fieldDiffs: [],
            matchConfidence: 100,
            record: { attributes: { type, url: recordUrl(base, type, r.id) }, Id: r.id },
          })),
          rule: rule.matchRule,
          size: matches.length,
          success: true,
        },
      ],
    },
  });
}
