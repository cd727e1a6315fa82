import type { FastifyInstance } from 'fastify';
import { notFound, SfFault } from './errors';
import { getField, text, type Fields } from './fields';
import { ID_PATTERN, sfDate, sfId, USER_ID } from './ids';
import type { IngestJob } from './org';
import { objectBody, typeOf, type Answer, type P, type Rest, type RestContext } from './rest';
import { commitWrite, planWrite, type WriteTarget } from './writes';

/**
 * Bulk API 2.0 ingest (insert, update, upsert of CSV data): create a job, upload its CSV, close it (processed at once,
 * each row like a single-record write), read its state and its result CSVs.
 */

/** RFC 4180 CSV (quoted fields, doubled quotes, LF or CRLF line ends): rows of cells. */
function parseCsv(input: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted) {
      if (c === '"' && input[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Salesforce quotes every cell of a Bulk API 2.0 result. */
const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;

export function registerBulkRoutes(app: FastifyInstance, rest: Rest): void {
  // ---- Bulk API 2.0 ingest (insert, update, upsert of CSV data)

  if (!app.hasContentTypeParser('text/csv')) {
    app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));
  }

  const jobInfo = (job: IngestJob) => ({
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: USER_ID,
    createdDate: sfDate(job.createdDate),
    systemModstamp: sfDate(job.createdDate),
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    contentUrl: `services/data/v${job.apiVersion.toFixed(1)}/jobs/ingest/${job.id}/batches`,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    numberRecordsProcessed: job.successful.length + job.failed.length,
    numberRecordsFailed: job.failed.length,
    retries: 0,
    totalProcessingTime: 0,
    apiActiveProcessingTime: 0,
    apexProcessingTime: 0,
  });
  const jobOf = (ctx: RestContext, id: string): IngestJob => {
    const job = ctx.org.jobs.get(id);
    if (!job) throw new SfFault(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  /** Runs an uploaded job's rows, each like a single-record write; `#N/A` sets a field to null, empty leaves it. */
  const processJob = (ctx: RestContext, job: IngestJob) => {
    const rows = parseCsv(job.csv);
    const [header, ...data] = rows;
    job.columns = header ?? [];
    for (const row of data) {
      const record: Fields = {};
      job.columns.forEach((column, i) => {
        const value = row[i] ?? '';
        if (value === '') return;
        record[column] = value === '#N/A' ? null : value;
      });
      try {
        const id = text(getField(record, 'Id'));
        const target: WriteTarget =
          job.operation === 'update'
            ? { kind: 'update', id }
            : job.operation === 'upsert'
              ? {
                  kind: 'upsert',
                  field: job.externalIdFieldName ?? 'Id',
                  value: text(getField(record, job.externalIdFieldName ?? 'Id')),
                }
              : { kind: 'create' };
        if (job.operation === 'update' && !ID_PATTERN.test(id)) {
          throw new SfFault(400, 'MALFORMED_ID', `${job.object} ID: id value of incorrect type: ${id}`, ['Id']);
        }
        const result = commitWrite(ctx, planWrite(ctx, job.object, record, target));
        job.successful.push([result.record.id, String(result.created), ...row]);
      } catch (err) {
        if (!(err instanceof SfFault)) throw err;
        job.failed.push(['', `${err.errorCode}:${err.message}:--`, ...row]);
      }
    }
    job.state = 'JobComplete';
  };

  const csvAnswer = (head: string[], rows: string[][], key: string): Answer => ({
    status: 200,
    body: [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n',
    contentType: 'text/csv',
    key,
  });

  app.post<P<{ version: string }>>('/services/data/:version/jobs/ingest', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const body = objectBody(request.body);
      const operation = text(body.operation);
      if (!['insert', 'update', 'upsert'].includes(operation)) {
        throw new SfFault(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${operation}`, []);
      }
      const object = typeOf(text(body.object));
      if (operation === 'upsert' && !text(body.externalIdFieldName)) {
        throw new SfFault(400, 'INVALIDJOB', 'InvalidJob : External ID was blank for ' + object, []);
      }
      const job: IngestJob = {
        id: sfId('750', ++ctx.org.nextId),
        object,
        operation: operation as IngestJob['operation'],
        externalIdFieldName: body.externalIdFieldName ? text(body.externalIdFieldName) : undefined,
        state: 'Open',
        createdDate: new Date().toISOString(),
        apiVersion: Number(ctx.base.replace(/^.*\/v/, '')),
        csv: '',
        columns: [],
        successful: [],
        failed: [],
      };
      ctx.org.jobs.set(job.id, job);
      return { status: 200, body: jobInfo(job), key: job.id, note: `${operation} ${object}` };
    }),
  );

  app.put<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id/batches', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => {
      const job = jobOf(ctx, request.params.id);
      if (job.state !== 'Open') {
        throw new SfFault(409, 'INVALIDJOBSTATE', `Job ${job.id} is not open for data upload`, []);
      }
      if (typeof request.body !== 'string') {
        throw new SfFault(400, 'INVALIDJOB', 'Content-Type must be text/csv', []);
      }
      job.csv += job.csv ? request.body.replace(/^[^\n]*\n/, '') : request.body;
      return { status: 201 };
    }),
  );

  app.patch<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => {
      const job = jobOf(ctx, request.params.id);
      const wanted = text(objectBody(request.body).state);
      if (wanted === 'Aborted' && job.state === 'Open') {
        job.state = 'Aborted';
      } else if (wanted === 'UploadComplete' && job.state === 'Open') {
        job.state = 'UploadComplete';
        const answer = jobInfo(job);
        // The org processes the job at once: the next status read says JobComplete.
        processJob(ctx, job);
        return { status: 200, body: answer, note: `${job.successful.length} saved, ${job.failed.length} failed` };
      } else {
        throw new SfFault(
          400,
          'INVALIDJOBSTATE',
          `Cannot change state of job ${job.id} from ${job.state} to ${wanted}`,
          [],
        );
      }
      return { status: 200, body: jobInfo(job) };
    }),
  );

  app.get<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => ({
      status: 200,
      body: jobInfo(jobOf(ctx, request.params.id)),
    })),
  );

  app.get<P<{ version: string; id: string; kind: string }>>(
    '/services/data/:version/jobs/ingest/:id/:kind',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const job = jobOf(ctx, request.params.id);
        switch (request.params.kind) {
          case 'successfulResults':
            return csvAnswer(['sf__Id', 'sf__Created', ...job.columns], job.successful, job.id);
          case 'failedResults':
            return csvAnswer(['sf__Id', 'sf__Error', ...job.columns], job.failed, job.id);
          case 'unprocessedrecords':
            return csvAnswer(job.columns, job.state === 'JobComplete' ? [] : parseCsv(job.csv).slice(1), job.id);
          default:
            throw notFound();
        }
      }),
  );
}
