import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/** The types as the `temporal` CLI and `tcld` spell them. */
const CLI_TYPE = { KEYWORD: 'Keyword', INT: 'Int', DATETIME: 'Datetime' } as const;

/** `--search-attribute` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE[k.type]}`]);
}

/** Registers all our search attributes without asking which exist (the time-skipping test server cannot list them). */
export async function addSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<void> {
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, INDEXED_TYPE[k.type]])),
  });
}

/**
 * Registers whichever of our search attributes the namespace lacks (a server we did not start ourselves, such as
 * docker-compose's). Idempotent; returns the names it added.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.systemAttributes, ...existing.customAttributes };
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in known));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type]])),
  });
  return missing.map((k) => k.name);
}

/** Start-up stops here when TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false and the namespace lacks some of ours. */
export class MissingSearchAttributesError extends Error {
  constructor(
    readonly namespace: string,
    readonly missing: string[],
  ) {
    const attributes = SEARCH_ATTRIBUTES.filter((k) => missing.includes(k.name));
    super(
      [
        `namespace ${namespace} lacks the search attributes ${missing.join(', ')}, and TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false ` +
          'forbids registering them. Create them once (a namespace admin), then start again:',
        ...attributes.map(
          (k) =>
            `  temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${CLI_TYPE[k.type]}`,
        ),
        'On Temporal Cloud:',
        `  tcld namespace search-attributes add --namespace ${namespace} ` +
          attributes.map((k) => `--search-attribute "${k.name}=${CLI_TYPE[k.type]}"`).join(' '),
      ].join('\n'),
    );
    this.name = 'MissingSearchAttributesError';
  }
}

/**
 * Which of our search attributes the namespace lacks, without the operator API's write calls: its read call
 * (`ListSearchAttributes`, which Temporal Cloud answers for the namespace's own credentials), and when that is
 * refused, a visibility query naming each attribute (refused as INVALID_ARGUMENT for an unknown one).
 */
export async function missingSearchAttributes(
  connection: Pick<Connection, 'operatorService' | 'workflowService'>,
  namespace: string,
): Promise<string[]> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...existing.systemAttributes, ...existing.customAttributes };
    return SEARCH_ATTRIBUTES.filter((k) => !(k.name in known)).map((k) => k.name);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // PERMISSION_DENIED (7) or UNIMPLEMENTED (12): fall back to the workflow service.
    if (code !== 7 && code !== 12) throw err;
  }
  const missing: string[] = [];
  for (const k of SEARCH_ATTRIBUTES) {
    try {
      await connection.workflowService.countWorkflowExecutions({ namespace, query: `${k.name} IS NULL` });
    } catch (err) {
      // INVALID_ARGUMENT (3): the query names an attribute the namespace does not have.
      if ((err as { code?: unknown }).code === 3) missing.push(k.name);
      else throw err;
    }
  }
  return missing;
}

/**
 * The worker's start-up step: register whichever of our attributes are missing (TEMPORAL_REGISTER_SEARCH_ATTRIBUTES,
 * default), or only check and throw a MissingSearchAttributesError naming the commands. Returns the names it added.
 */
export async function prepareSearchAttributes(
  connection: Pick<Connection, 'operatorService' | 'workflowService'>,
  options: { namespace: string; register: boolean },
): Promise<string[]> {
  if (options.register) return ensureSearchAttributes(connection, options.namespace);
  const missing = await missingSearchAttributes(connection, options.namespace);
  if (missing.length > 0) throw new MissingSearchAttributesError(options.namespace, missing);
  return [];
}
