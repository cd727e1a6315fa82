/** The three sObjects the org knows, their required fields, relationships and system fields. */

export const SOBJECTS = {
  Account: { prefix: '001', required: ['Name'] },
  Contact: { prefix: '003', required: ['LastName'] },
  Lead: { prefix: '00Q', required: ['LastName', 'Company'] },
} as const satisfies Record<string, { prefix: string; required: readonly string[] }>;

export type SalesforceSObject = keyof typeof SOBJECTS;
export const SOBJECT_NAMES = Object.keys(SOBJECTS) as SalesforceSObject[];

export interface Relationship {
  name: string;
  field: string;
  target: SalesforceSObject;
}

export const RELATIONSHIPS: Record<SalesforceSObject, Relationship[]> = {
  Account: [{ name: 'Parent', field: 'ParentId', target: 'Account' }],
  Contact: [
    { name: 'Account', field: 'AccountId', target: 'Account' },
    { name: 'ReportsTo', field: 'ReportsToId', target: 'Contact' },
  ],
  Lead: [
    { name: 'ConvertedAccount', field: 'ConvertedAccountId', target: 'Account' },
    { name: 'ConvertedContact', field: 'ConvertedContactId', target: 'Contact' },
  ],
};

/** System fields: read-only, computed from the stored record. */
export const SYSTEM_FIELDS: Record<string, string> = {
  id: 'Id',
  createddate: 'CreatedDate',
  lastmodifieddate: 'LastModifiedDate',
  systemmodstamp: 'SystemModstamp',
  isdeleted: 'IsDeleted',
};
export const READ_ONLY_FIELDS = new Set([
  'createddate',
  'lastmodifieddate',
  'systemmodstamp',
  'isdeleted',
  'createdbyid',
]);

export function sobjectName(raw: string): SalesforceSObject | undefined {
  const lower = raw.toLowerCase();
  return SOBJECT_NAMES.find((n) => n.toLowerCase() === lower);
}

export function relationshipOf(type: SalesforceSObject, name: string, targetType?: unknown): Relationship | undefined {
  const lower = name.toLowerCase();
  const standard = RELATIONSHIPS[type].find((r) => r.name.toLowerCase() === lower);
  if (standard) return standard;
  if (lower.endsWith('__r') && typeof targetType === 'string') {
    const target = sobjectName(targetType);
    if (target) return { name, field: `${name.slice(0, -3)}__c`, target };
  }
  return undefined;
}
