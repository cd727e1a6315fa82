import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { writtenFields, type FieldKind, type WrittenField } from '../integrations/salesforce/written-fields';

/**
 * The custom fields we write, as Salesforce metadata in source format (deploy/salesforce/, an sfdx project):
 * `npx tsx src/tools/salesforce-metadata.ts` writes one `<Field>.field-meta.xml` per object and field that the mapping code writes
 * (written-fields.ts), from the definitions below, and the permission set `Signup_Enrichment` granting them (fields
 * deployed through the Metadata API are visible to no profile until granted). test/salesforce-metadata.test.ts fails
 * when the files are stale or a written field has no definition of a compatible type.
 */

/** The sfdx package directory's `main/default`: `objects/<Object>/fields/` and `permissionsets/` below it. */
export const METADATA_ROOT = path.resolve(__dirname, '../../deploy/salesforce/force-app/main/default');
/** The permission set that gives the run-as user the objects and fields we write. */
export const PERMISSION_SET = 'Signup_Enrichment';

type Definition =
  | { type: 'Text'; label: string; length: number; externalId?: boolean; caseSensitive?: boolean }
  | { type: 'LongTextArea'; label: string; length: number; visibleLines: number }
  | { type: 'Number'; label: string; precision: number; scale: number }
  | { type: 'DateTime'; label: string };

/** Metadata types a value of each kind goes into. */
const KIND_OF_TYPE: Record<Definition['type'], FieldKind> = {
  Text: 'text',
  LongTextArea: 'text',
  Number: 'number',
  DateTime: 'datetime',
};

/** The custom fields, the same definition on every object that has them. */
export const FIELD_DEFINITIONS: Record<string, Definition> = {
  Company_Domain__c: { type: 'Text', label: 'Company Domain', length: 255, externalId: true },
  // Case sensitive: PostHog distinct ids differing only in case are different people.
  Signup_Person_Id__c: { type: 'Text', label: 'Signup Person Id', length: 255, externalId: true, caseSensitive: true },
  ICP_Score__c: { type: 'Number', label: 'ICP Score', precision: 5, scale: 2 },
  ICP_Tier__c: { type: 'Text', label: 'ICP Tier', length: 40 },
  ICP_Status__c: { type: 'Text', label: 'ICP Status', length: 40 },
  Enrichment_Status__c: { type: 'Text', label: 'Enrichment Status', length: 40 },
  Enriched_At__c: { type: 'DateTime', label: 'Enriched At' },
  // One `field=source` per ICP field: longer than a Text field's 255 characters.
  Enrichment_Sources__c: { type: 'LongTextArea', label: 'Enrichment Sources', length: 4000, visibleLines: 3 },
  Enrichment_Run_Id__c: { type: 'Text', label: 'Enrichment Run Id', length: 255 },
  Employee_Range__c: { type: 'Text', label: 'Employee Range', length: 20 },
  Industry_Tags__c: { type: 'Text', label: 'Industry Tags', length: 255 },
  Total_Funding_USD__c: { type: 'Number', label: 'Total Funding (USD)', precision: 18, scale: 0 },
  Funding_Stage__c: { type: 'Text', label: 'Funding Stage', length: 40 },
  Founded_Year__c: { type: 'Number', label: 'Founded Year', precision: 4, scale: 0 },
  Company_Type__c: { type: 'Text', label: 'Company Type', length: 40 },
  Role__c: { type: 'Text', label: 'Role', length: 40 },
  Seniority__c: { type: 'Text', label: 'Seniority', length: 40 },
  Signed_Up_At__c: { type: 'DateTime', label: 'Signed Up At' },
};

/** The written custom fields with the default external ids and every object (Lead included). */
export function customFieldsWritten(): WrittenField[] {
  const config = loadConfig({ SALESFORCE_PERSONAL_EMAIL_POLICY: 'lead' });
  return writtenFields(config.salesforce).filter((f) => f.name.endsWith('__c'));
}

function render(name: string, d: Definition, externalId: boolean): string {
  const lines = [`<fullName>${name}</fullName>`, `<label>${d.label}</label>`, `<type>${d.type}</type>`];
  switch (d.type) {
    case 'Text':
      lines.push(`<length>${d.length}</length>`, '<required>false</required>');
      if (externalId || d.externalId) {
        lines.push(
          '<externalId>true</externalId>',
          '<unique>true</unique>',
          `<caseSensitive>${d.caseSensitive ? 'true' : 'false'}</caseSensitive>`,
        );
      }
      break;
    case 'LongTextArea':
      lines.push(`<length>${d.length}</length>`, `<visibleLines>${d.visibleLines}</visibleLines>`);
      break;
    case 'Number':
      lines.push(`<precision>${d.precision}</precision>`, `<scale>${d.scale}</scale>`, '<required>false</required>');
      break;
    case 'DateTime':
      lines.push('<required>false</required>');
      break;
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">',
    ...lines.map((l) => `    ${l}`),
    '</CustomField>',
    '',
  ].join('\n');
}

/** Every metadata file by its path under METADATA_ROOT; throws naming each written field without a fitting definition. */
export function metadataFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const problems: string[] = [];
  for (const f of customFieldsWritten()) {
    const d = FIELD_DEFINITIONS[f.name];
    if (!d) problems.push(`${f.object}.${f.name} has no definition in FIELD_DEFINITIONS`);
    else if (KIND_OF_TYPE[d.type] !== f.kind)
      problems.push(`${f.object}.${f.name} is defined as ${d.type}, the mapping writes ${f.kind}`);
    else if (f.externalId && !(d.type === 'Text' && d.externalId))
      problems.push(`${f.object}.${f.name} is upserted by: define it as a Text external id`);
    else
      files.set(path.join('objects', f.object, 'fields', `${f.name}.field-meta.xml`), render(f.name, d, f.externalId));
  }
  if (problems.length > 0) throw new Error(`Salesforce metadata:\n  ${problems.join('\n  ')}`);
  files.set(
    path.join('permissionsets', `${PERMISSION_SET}.permissionset-meta.xml`),
    permissionSet(customFieldsWritten()),
  );
  return files;
}

/** Read and edit on every field we write, create / read / edit (no delete) on their objects. */
function permissionSet(fields: WrittenField[]): string {
  const objects = [...new Set(fields.map((f) => f.object))].sort();
  const names = [...new Set(fields.map((f) => `${f.object}.${f.name}`))].sort();
  const block = (tag: string, lines: string[]) => [
    `    <${tag}>`,
    ...lines.map((l) => `        ${l}`),
    `    </${tag}>`,
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">',
    '    <description>What the signup-enrichment pipeline writes: assign it to the run-as user of its app.</description>',
    ...names.flatMap((field) =>
      block('fieldPermissions', ['<editable>true</editable>', `<field>${field}</field>`, '<readable>true</readable>']),
    ),
    '    <hasActivationRequired>false</hasActivationRequired>',
    '    <label>Signup Enrichment</label>',
    ...objects.flatMap((object) =>
      block('objectPermissions', [
        '<allowCreate>true</allowCreate>',
        '<allowDelete>false</allowDelete>',
        '<allowEdit>true</allowEdit>',
        '<allowRead>true</allowRead>',
        '<modifyAllRecords>false</modifyAllRecords>',
        `<object>${object}</object>`,
        '<viewAllRecords>false</viewAllRecords>',
      ]),
    ),
    '</PermissionSet>',
    '',
  ].join('\n');
}

if (require.main === module) {
  const files = metadataFiles();
  // What we generate is all there is: a field no longer written loses its file.
  rmSync(path.join(METADATA_ROOT, 'objects'), { recursive: true, force: true });
  rmSync(path.join(METADATA_ROOT, 'permissionsets'), { recursive: true, force: true });
  for (const [file, xml] of files) {
    mkdirSync(path.dirname(path.join(METADATA_ROOT, file)), { recursive: true });
    writeFileSync(path.join(METADATA_ROOT, file), xml);
  }
  console.log(`${files.size} metadata files written to ${path.relative(process.cwd(), METADATA_ROOT)}`);
}
