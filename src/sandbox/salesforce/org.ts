import type { StoredRecord } from '../state';
import type { SalesforceSObject } from './sobjects';

/**
 * What the org keeps beside its records (`state.records.salesforce`): ids, API usage, query cursors, locks and Bulk
 * jobs. It is the sandbox state's `salesforceOrg` slot, made anew with the records on `POST /_reset`.
 */

export interface QueryCursor {
  rows: Record<string, unknown>[];
  batchSize: number;
}

export interface OrgState {
  apiUsed: number;
  nextId: number;
  nextCursor: number;
  cursors: Map<string, QueryCursor>;
  /** First 15 characters of an id → record; rebuilt per type on a miss. */
  byId: Map<string, StoredRecord>;
  /** Ids (15 characters) of records locked by an approval process: updates answer ENTITY_IS_LOCKED. */
  locked: Set<string>;
  /** Bulk API 2.0 ingest jobs by id. */
  jobs: Map<string, IngestJob>;
}

export interface IngestJob {
  id: string;
  object: SalesforceSObject;
  operation: 'insert' | 'update' | 'upsert';
  externalIdFieldName?: string;
  state: 'Open' | 'UploadComplete' | 'JobComplete' | 'Aborted' | 'Failed';
  createdDate: string;
  apiVersion: number;
  csv: string;
  columns: string[];
  successful: string[][];
  failed: string[][];
}

export function createSalesforceOrg(): OrgState {
  return {
    apiUsed: 0,
    nextId: 0,
    nextCursor: 0,
    cursors: new Map(),
    byId: new Map(),
    locked: new Set(),
    jobs: new Map(),
  };
}
