import { describe, expect, it } from 'vitest';
import { SearchIndex, SearchRequestError, search, type IndexedLead } from '../../src/sandbox/close-search';

const lead = (id: string, domain: string, emails: string[]): IndexedLead => ({
  id,
  name: `Lead ${id}`,
  url: `https://${domain}`,
  custom: { cf_domain: domain },
  contacts: emails.map((email, i) => ({
    id: `cont_${id}_${i}`,
    name: email,
    title: '',
    emails: [{ email, type: 'office' }],
  })),
});

const byDomain = (domain: string) => ({
  type: 'and',
  queries: [
    { type: 'object_type', object_type: 'lead' },
    {
      type: 'field_condition',
      field: { type: 'custom_field', custom_field_id: 'cf_domain' },
      condition: { type: 'term', values: [domain] },
    },
  ],
});

const run = (body: Record<string, unknown>, leads: IndexedLead[]) =>
  search(
    body,
    leads,
    (id) => id === 'cf_domain',
    (_type, id, fields) => (fields.includes('name') ? { name: id } : {}),
  );

describe("the sandbox's Close search index", () => {
  it('shows each lead as it was delayMs ago: nothing before its first write, the old version after an update', () => {
    const index = new SearchIndex();
    index.record('lead_1', lead('lead_1', 'a.example', []), 1000);
    index.record('lead_1', lead('lead_1', 'b.example', []), 5000);
    expect(index.visible(1500, 1000)).toEqual([]);
    expect(index.visible(2000, 1000).map((l) => l.url)).toEqual(['https://a.example']);
    expect(index.visible(5500, 1000).map((l) => l.url)).toEqual(['https://a.example']);
    expect(index.visible(6000, 1000).map((l) => l.url)).toEqual(['https://b.example']);
    index.record('lead_1', null, 7000);
    expect(index.visible(7500, 1000)).toHaveLength(1);
    expect(index.visible(8000, 1000)).toEqual([]);
  });
});

describe("the sandbox's Close data/search", () => {
  const leads = [
    lead('lead_1', 'a.example', ['ann@a.example']),
    lead('lead_2', 'b.example', ['bo@b.example', 'bea@b.example']),
  ];

  it('matches custom fields, or / negate, and contacts with their lead as a related object', () => {
    expect(run({ query: byDomain('A.EXAMPLE') }, leads).data).toEqual([{ __object_type: 'lead', id: 'lead_1' }]);
    const either = {
      type: 'and',
      queries: [
        { type: 'object_type', object_type: 'lead' },
        { type: 'or', queries: [byDomain('a.example').queries[1], byDomain('b.example').queries[1]] },
      ],
    };
    expect(run({ query: either }, leads).data.map((d) => d.id)).toEqual(['lead_1', 'lead_2']);
    const notA = {
      ...byDomain('a.example'),
      queries: [byDomain('a.example').queries[0], { ...byDomain('a.example').queries[1], negate: true }],
    };
    expect(run({ query: notA }, leads).data.map((d) => d.id)).toEqual(['lead_2']);
    const contactsOfB = {
      type: 'and',
      queries: [
        { type: 'object_type', object_type: 'contact' },
        {
          type: 'has_related',
          this_object_type: 'contact',
          related_object_type: 'lead',
          related_query: byDomain('b.example').queries[1],
        },
      ],
    };
    expect(run({ query: contactsOfB, _fields: { contact: ['name'] } }, leads).data).toEqual([
      { __object_type: 'contact', id: 'cont_lead_2_0', name: 'cont_lead_2_0' },
      { __object_type: 'contact', id: 'cont_lead_2_1', name: 'cont_lead_2_1' },
    ]);
  });

  it('refuses a field of another object type and an unknown relation, naming the part', () => {
    const wrongType = {
      type: 'and',
      queries: [
        { type: 'object_type', object_type: 'lead' },
        {
          type: 'field_condition',
          field: { type: 'regular_field', object_type: 'contact', field_name: 'title' },
          condition: { type: 'term', values: ['CEO'] },
        },
      ],
    };
    expect(() => run({ query: wrongType }, leads)).toThrow(
      new SearchRequestError('query.queries[1].field.object_type', 'must be the type being filtered here (lead)'),
    );
    const unknownRelation = {
      type: 'and',
      queries: [
        { type: 'object_type', object_type: 'lead' },
        { type: 'has_related', this_object_type: 'lead', related_object_type: 'opportunity', related_query: {} },
      ],
    };
    expect(() => run({ query: unknownRelation }, leads)).toThrow(
      /query\.queries\[1\]\.related_object_type: "opportunity"/,
    );
    expect(() => run({}, leads)).toThrow(/^query: is required/);
  });
});
