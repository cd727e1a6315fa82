import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIELD_DEFINITIONS, METADATA_ROOT, customFieldsWritten, metadataFiles } from '../src/tools/salesforce-metadata';

/** deploy/salesforce/ against the mapping code: every custom field we write has its metadata, of a fitting type. */

const filesOnDisk = (): Map<string, string> => {
  const out = new Map<string, string>();
  for (const entry of readdirSync(METADATA_ROOT, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.set(path.relative(METADATA_ROOT, file), readFileSync(file, 'utf8'));
  }
  return out;
};

describe('Salesforce org metadata (deploy/salesforce)', () => {
  it('has one file per custom field the mapping writes, as generated (npx tsx src/tools/salesforce-metadata.ts)', () => {
    const expected = metadataFiles();
    const onDisk = filesOnDisk();
    expect([...onDisk.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, xml] of expected) expect(onDisk.get(file), file).toBe(xml);
  });

  it('covers the fields the fan-out and the re-enrichment write, external ids included', () => {
    const names = customFieldsWritten().map((f) => `${f.object}.${f.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Account.Company_Domain__c',
        'Account.ICP_Score__c',
        'Account.Enrichment_Run_Id__c',
        'Contact.Signup_Person_Id__c',
        'Contact.Signed_Up_At__c',
        'Lead.Signup_Person_Id__c',
      ]),
    );
    const domain = filesOnDisk().get(path.join('objects', 'Account', 'fields', 'Company_Domain__c.field-meta.xml'));
    expect(domain).toContain('<externalId>true</externalId>');
    expect(domain).toContain('<unique>true</unique>');
    const permissions = filesOnDisk().get(path.join('permissionsets', 'Signup_Enrichment.permissionset-meta.xml'));
    for (const name of names) expect(permissions).toContain(`<field>${name}</field>`);
  });

  it('refuses a written field without a definition, or defined with a type the mapping does not write', () => {
    const score = FIELD_DEFINITIONS.ICP_Score__c!;
    try {
      FIELD_DEFINITIONS.ICP_Score__c = { type: 'DateTime', label: 'ICP Score' };
      expect(() => metadataFiles()).toThrow('Account.ICP_Score__c is defined as DateTime, the mapping writes number');
      delete FIELD_DEFINITIONS.ICP_Score__c;
      expect(() => metadataFiles()).toThrow('Account.ICP_Score__c has no definition in FIELD_DEFINITIONS');
    } finally {
      FIELD_DEFINITIONS.ICP_Score__c = score;
    }
  });
});
