import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SalesforceSObject } from './sobjects';

/**
 * What `GET /services/data/vXX.X/sobjects/<Type>/describe` answers (REST API Developer Guide, "sObject Describe"):
 * the org's fields with their type, length, precision, external-id and unique flags. The records themselves have no
 * schema (./index.ts); the describe is the org as set up: the standard fields we touch, plus the custom fields of
 * deploy/salesforce/ as `sf project deploy start` would create them. The `missingFields` control ("Account.X__c")
 * takes fields out of the answer, to play an org that was set up wrong.
 */

export interface DescribeField {
  name: string;
  label: string;
  type: string;
  soapType: string;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  custom: boolean;
  externalId: boolean;
  unique: boolean;
  caseSensitive: boolean;
  idLookup: boolean;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
}

type Standard = [name: string, type: string, length?: number];

const STANDARD: Record<SalesforceSObject, Standard[]> = {
  Account: [
    ['Id', 'id', 18],
    ['Name', 'string', 255],
    ['Website', 'url', 255],
    ['Industry', 'picklist', 255],
    ['NumberOfEmployees', 'int'],
    ['BillingCountry', 'string', 80],
    ['BillingCity', 'string', 40],
    ['ParentId', 'reference', 18],
  ],
  Contact: [
    ['Id', 'id', 18],
    ['FirstName', 'string', 40],
    ['LastName', 'string', 80],
    ['Email', 'email', 80],
    ['Title', 'string', 128],
    ['LeadSource', 'picklist', 255],
    ['AccountId', 'reference', 18],
    ['ReportsToId', 'reference', 18],
  ],
  Lead: [
    ['Id', 'id', 18],
    ['FirstName', 'string', 40],
    ['LastName', 'string', 80],
    ['Email', 'email', 80],
    ['Title', 'string', 128],
    ['Company', 'string', 255],
    ['LeadSource', 'picklist', 255],
  ],
};

const SYSTEM: Standard[] = [
  ['CreatedDate', 'datetime'],
  ['LastModifiedDate', 'datetime'],
  ['SystemModstamp', 'datetime'],
  ['IsDeleted', 'boolean'],
];

const SOAP_TYPE: Record<string, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  datetime: 'xsd:dateTime',
  date: 'xsd:date',
  boolean: 'xsd:boolean',
};

const field = (over: Partial<DescribeField> & Pick<DescribeField, 'name' | 'type'>): DescribeField => ({
  label: over.name.replace(/__c$/, '').replace(/_/g, ' '),
  soapType: SOAP_TYPE[over.type] ?? 'xsd:string',
  length: 0,
  precision: 0,
  scale: 0,
  digits: 0,
  custom: false,
  externalId: false,
  unique: false,
  caseSensitive: false,
  idLookup: over.name === 'Id',
  nillable: over.name !== 'Id',
  createable: over.name !== 'Id',
  updateable: over.name !== 'Id',
  ...over,
});

/** CustomField metadata type → describe type (Metadata API "CustomField", FieldType). */
const DESCRIBE_TYPE: Record<string, string> = {
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Number: 'double',
  Currency: 'currency',
  Percent: 'percent',
  DateTime: 'datetime',
  Date: 'date',
  Checkbox: 'boolean',
  Url: 'url',
  Email: 'email',
  Picklist: 'picklist',
};

const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** deploy/salesforce/'s objects folder, from src/ or from dist/src/. */
function metadataRoot(): string | undefined {
  const tail = 'deploy/salesforce/force-app/main/default/objects';
  return [path.resolve(__dirname, '../../..', tail), path.resolve(__dirname, '../../../..', tail)].find((p) =>
    existsSync(p),
  );
}

/** The custom fields deploy/salesforce/ creates, by object (read once). */
function deployedFields(): Record<string, DescribeField[]> {
  const root = metadataRoot();
  const out: Record<string, DescribeField[]> = {};
  if (!root) return out;
  for (const object of readdirSync(root)) {
    const dir = path.join(root, object, 'fields');
    if (!existsSync(dir)) continue;
    out[object] = readdirSync(dir)
      .filter((f) => f.endsWith('.field-meta.xml'))
      .map((f) => {
        const xml = readFileSync(path.join(dir, f), 'utf8');
        const metaType = tag(xml, 'type') ?? 'Text';
        const precision = Number(tag(xml, 'precision') ?? 0);
        return field({
          name: tag(xml, 'fullName') ?? f.replace('.field-meta.xml', ''),
          label: tag(xml, 'label') ?? '',
          type: DESCRIBE_TYPE[metaType] ?? 'string',
          length: Number(tag(xml, 'length') ?? 0),
          precision,
          scale: Number(tag(xml, 'scale') ?? 0),
          custom: true,
          externalId: tag(xml, 'externalId') === 'true',
          unique: tag(xml, 'unique') === 'true',
          caseSensitive: tag(xml, 'caseSensitive') === 'true',
          idLookup: tag(xml, 'externalId') === 'true',
        });
      });
  }
  return out;
}

let deployed: Record<string, DescribeField[]> | undefined;

/** The describe of `type`, without the fields `missing` names (`Type.Field`, case-insensitive). */
export function describeSObject(type: SalesforceSObject, prefix: string, missing: readonly string[]) {
  deployed ??= deployedFields();
  const gone = new Set(missing.map((m) => m.toLowerCase()));
  const fields = [
    ...STANDARD[type].map(([name, t, length]) => field({ name, type: t, length: length ?? 0 })),
    ...SYSTEM.map(([name, t]) => field({ name, type: t, createable: false, updateable: false })),
    ...(deployed[type] ?? []),
  ].filter((f) => !gone.has(`${type}.${f.name}`.toLowerCase()));
  return {
    name: type,
    label: type,
    custom: false,
    keyPrefix: prefix,
    createable: true,
    updateable: true,
    queryable: true,
    fields,
    childRelationships: [],
    recordTypeInfos: [],
    urls: {},
  };
}
