import type { FastifyInstance } from 'fastify';
import { requestPath, type SandboxState, type StoredRecord } from '../state';
import { describeSObject } from './describe';
import { notFound, SfFault } from './errors';
import { fieldValue, getField, isBlank, isPlainObject, outputName, text, type Fields } from './fields';
import { ID_PATTERN, sfDate } from './ids';
import { findByExternalId, findById, recordUrl } from './records';
import {
  collectionBody,
  DEFAULT_DAILY_LIMIT,
  objectBody,
  stringParams,
  typeOf,
  VERSION_RANGE,
  type Answer,
  type P,
  type Rest,
} from './rest';
import { SOBJECTS, sobjectName, type SalesforceSObject } from './sobjects';
import { commitWrite, planWrite, runCollection, type WriteContext } from './writes';

/** The API's versions and limits, sObject rows (create, get, update, upsert, delete) and sObject Collections. */

export function collectionType(record: Fields): SalesforceSObject {
  const attributes = record.attributes;
  const raw = isPlainObject(attributes) ? attributes.type : undefined;
  const type = typeof raw === 'string' ? sobjectName(raw) : undefined;
  if (!type) {
    throw new SfFault(
      400,
      'INVALID_TYPE',
      typeof raw === 'string' ? `sObject type '${raw}' is not supported.` : 'Must send a concrete entity type.',
      [],
    );
  }
  return type;
}

export function registerSObjectRoutes(app: FastifyInstance, state: SandboxState, rest: Rest): void {
  /** A record by id on the single-record routes; a malformed id reads as an unknown external-id field there. */
  const recordById = (ctx: WriteContext, type: SalesforceSObject, id: string): StoredRecord => {
    if (!ID_PATTERN.test(id) || !id.startsWith(SOBJECTS[type].prefix)) {
      throw new SfFault(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${id}`);
    }
    const record = findById(ctx.store, ctx.org, type, id);
    if (!record) throw notFound();
    return record;
  };

  /**
   * The single-record routes by external id: Salesforce answers 300 with the records' URLs when the value matches
   * more than one, 404 when none; otherwise `then` answers for the one record.
   */
  const byExternalId = <R>(
    ctx: WriteContext,
    params: { type: string; field: string; value: string },
    then: (record: StoredRecord) => R,
  ): R | { status: 300; body: string[] } => {
    const type = typeOf(params.type);
    const found = findByExternalId(ctx.store, ctx.org, type, params.field, params.value);
    if (found.length > 1) return { status: 300, body: found.map((r) => recordUrl(ctx.base, type, r.id)) };
    const [record] = found;
    if (!record) throw notFound();
    return then(record);
  };

  const fullRecord = (ctx: WriteContext, record: StoredRecord, only?: string[]) => {
    const type = record.type;
    const out: Record<string, unknown> = { attributes: { type, url: recordUrl(ctx.base, type, record.id) } };
    if (only) {
      out.Id = record.id;
      for (const name of only) out[outputName(record, name)] = fieldValue(record, name);
      return out;
    }
    return {
      ...out,
      Id: record.id,
      IsDeleted: false,
      ...record.fields,
      CreatedDate: sfDate(record.createdAt),
      LastModifiedDate: sfDate(record.updatedAt),
      SystemModstamp: sfDate(record.updatedAt),
    };
  };

  const fieldsParam = (query: unknown): string[] | undefined => {
    const raw = stringParams(query).fields;
    return raw
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  };

  app.get('/services/data', (request, reply) => {
    const versions = [];
    for (let v = VERSION_RANGE.min; v <= VERSION_RANGE.max; v++) {
      versions.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
    }
    state.system('salesforce').record({
      kind: 'request',
      method: 'GET',
      path: requestPath(request),
      key: null,
      status: 200,
      creditsCharged: 0,
    });
    return reply.send(versions);
  });

  app.get<P<{ version: string }>>('/services/data/:version/limits', (request, reply) =>
    rest(request, reply, null, request.params.version, () => {
      const sys = state.system('salesforce');
      const org = state.salesforceOrg;
      const left = sys.control.apiRequestsRemaining;
      const max = left === null ? DEFAULT_DAILY_LIMIT : org.apiUsed + left;
      return { status: 200, body: { DailyApiRequests: { Max: max, Remaining: max - org.apiUsed } } };
    }),
  );

  app.get<P<{ version: string; type: string }>>('/services/data/:version/sobjects/:type/describe', (request, reply) =>
    rest(request, reply, null, request.params.version, () => {
      const type = typeOf(request.params.type);
      const missing = state.system('salesforce').control.missingFields;
      return { status: 200, body: describeSObject(type, SOBJECTS[type].prefix, missing) };
    }),
  );

  // ---- sObject rows

  app.post<P<{ version: string; type: string }>>('/services/data/:version/sobjects/:type', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const type = typeOf(request.params.type);
      const body = objectBody(request.body);
      if (Object.keys(body).some((k) => k.toLowerCase() === 'id')) {
        throw new SfFault(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'Unable to create/update fields: Id.', ['Id']);
      }
      const { record } = commitWrite(ctx, planWrite(ctx, type, body, { kind: 'create' }));
      return { status: 201, body: { id: record.id, success: true, errors: [] }, key: record.id };
    }),
  );

  app.get<P<{ version: string; type: string; id: string }>>(
    '/services/data/:version/sobjects/:type/:id',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const record = recordById(ctx, type, request.params.id);
        return { status: 200, body: fullRecord(ctx, record, fieldsParam(request.query)) };
      }),
  );

  app.patch<P<{ version: string; type: string; id: string }>>(
    '/services/data/:version/sobjects/:type/:id',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const record = recordById(ctx, type, request.params.id);
        commitWrite(ctx, planWrite(ctx, type, objectBody(request.body), { kind: 'update', id: record.id }));
        return { status: 204 };
      }),
  );

  app.delete<P<{ version: string; type: string; id: string }>>(
    '/services/data/:version/sobjects/:type/:id',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const record = recordById(ctx, typeOf(request.params.type), request.params.id);
        ctx.store.remove(record.type, record.key);
        return { status: 204, note: 'deleted' };
      }),
  );

  app.delete<P<{ version: string; type: string; field: string; value: string }>>(
    '/services/data/:version/sobjects/:type/:field/:value',
    (request, reply) =>
      rest(request, reply, request.params.value, request.params.version, (ctx) =>
        byExternalId(ctx, request.params, (record) => {
          ctx.store.remove(record.type, record.key);
          return { status: 204, note: 'deleted' };
        }),
      ),
  );

  app.get<P<{ version: string; type: string; field: string; value: string }>>(
    '/services/data/:version/sobjects/:type/:field/:value',
    (request, reply) =>
      rest(request, reply, request.params.value, request.params.version, (ctx) =>
        byExternalId(ctx, request.params, (record) => ({
          status: 200,
          body: fullRecord(ctx, record, fieldsParam(request.query)),
        })),
      ),
  );

  app.patch<P<{ version: string; type: string; field: string; value: string }>>(
    '/services/data/:version/sobjects/:type/:field/:value',
    (request, reply) =>
      rest(request, reply, request.params.value, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const { field, value } = request.params;
        const plan = planWrite(ctx, type, objectBody(request.body), { kind: 'upsert', field, value });
        const { record, created } = commitWrite(ctx, plan);
        return {
          status: created ? 201 : 200,
          body: { id: record.id, success: true, errors: [], created },
          note: created ? 'created' : 'updated',
        };
      }),
  );

  // ---- sObject Collections

  app.post<P<{ version: string }>>('/services/data/:version/composite/sobjects', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const { allOrNone, records } = collectionBody(request.body);
      const wctx = { ...ctx, collection: true };
      const results = runCollection(
        wctx,
        records,
        allOrNone,
        (record) => {
          const type = collectionType(record);
          if (Object.keys(record).some((k) => k.toLowerCase() === 'id')) {
            throw new SfFault(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']);
          }
          return planWrite(wctx, type, record, { kind: 'create' });
        },
        ({ record }) => ({ id: record.id, success: true, errors: [] }),
      );
      return collectionAnswer(results, results.map((r) => (typeof r.id === 'string' ? r.id : '-')).join(','));
    }),
  );

  app.patch<P<{ version: string }>>('/services/data/:version/composite/sobjects', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const { allOrNone, records } = collectionBody(request.body);
      const wctx = { ...ctx, collection: true };
      const idOf = (record: Fields) => {
        const id = getField(record, 'Id');
        return typeof id === 'string' ? id : '';
      };
      const results = runCollection(
        wctx,
        records,
        allOrNone,
        (record) => {
          const type = collectionType(record);
          const id = idOf(record);
          if (!id) throw new SfFault(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', []);
          if (!ID_PATTERN.test(id) || !id.startsWith(SOBJECTS[type].prefix)) {
            throw new SfFault(400, 'MALFORMED_ID', `${type} ID: id value of incorrect type: ${id}`, ['Id']);
          }
          return planWrite(wctx, type, record, { kind: 'update', id });
        },
        ({ record }) => ({ id: record.id, success: true, errors: [] }),
      );
      return collectionAnswer(results, records.map(idOf).join(','));
    }),
  );

  app.patch<P<{ version: string; type: string; field: string }>>(
    '/services/data/:version/composite/sobjects/:type/:field',
    (request, reply) =>
      rest(request, reply, null, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const { field } = request.params;
        const { allOrNone, records } = collectionBody(request.body);
        const wctx = { ...ctx, collection: true };
        const valueOf = (record: Fields) => {
          const v = getField(record, field);
          return isBlank(v) ? '' : text(v);
        };
        const counts = new Map<string, number>();
        for (const record of records) {
          const v = valueOf(record).toLowerCase();
          if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
        }
        const results = runCollection(
          wctx,
          records,
          allOrNone,
          (record) => {
            const attributes = record.attributes;
            const declared = isPlainObject(attributes) ? attributes.type : undefined;
            if (typeof declared === 'string' && sobjectName(declared) !== type) {
              throw new SfFault(
                400,
                'INVALID_TYPE',
                `Records of type ${declared} are not allowed in this request: ${type} only`,
                [],
              );
            }
            const value = valueOf(record);
            if (!value) throw new SfFault(400, 'MISSING_ARGUMENT', `${field} not specified`, [field]);
            if ((counts.get(value.toLowerCase()) ?? 0) > 1) {
              throw new SfFault(400, 'DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${value}`, [field]);
            }
            try {
              return planWrite(wctx, type, record, { kind: 'upsert', field, value });
            } catch (err) {
              // 300 Multiple Choices is a single-record answer; in a collection it is a record error.
              if (err instanceof SfFault && err.status === 300) {
                throw new SfFault(400, err.errorCode, err.message, [field]);
              }
              throw err;
            }
          },
          ({ record, created }) => ({ id: record.id, success: true, errors: [], created }),
        );
        return collectionAnswer(results, records.map(valueOf).join(','));
      }),
  );

  app.post<P<{ version: string; type: string }>>('/services/data/:version/composite/sobjects/:type', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const type = typeOf(request.params.type);
      const body = objectBody(request.body);
      const { ids, fields } = body;
      if (!Array.isArray(ids) || !Array.isArray(fields) || ids.length > 2000) {
        throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must have ids (up to 2,000) and fields arrays');
      }
      const names = fields.map(text);
      const records = ids.map((id) => {
        const record =
          typeof id === 'string' && ID_PATTERN.test(id) ? findById(ctx.store, ctx.org, type, id) : undefined;
        return record ? fullRecord(ctx, record, names) : null;
      });
      return { status: 200, body: records, key: ids.map(text).join(',') };
    }),
  );

  function collectionAnswer(results: Record<string, unknown>[], key: string): Answer {
    const failures = results.filter((r) => r.success !== true).length;
    return {
      status: 200,
      body: results,
      key,
      note: `${results.length} records, ${results.length - failures} saved, ${failures} failed`,
    };
  }
}
