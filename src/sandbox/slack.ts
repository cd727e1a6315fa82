import { createHash } from 'node:crypto';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderPluginOptions } from './state';

/**
 * Slack incoming webhooks (real host hooks.slack.com), written from Slack's public documentation: "Sending messages
 * using incoming webhooks" (payload and its "Handling errors" list), the changelog "Improving error conditions for
 * Incoming Webhooks" (2016-05-17: errors as plain strings in the body with 400 / 403 / 404 / 410 / 500) and "Rate
 * limits" (message posting: about one message per second, bursts tolerated; over it, HTTP 429 with a `Retry-After`
 * header in seconds).
 *
 * - `POST /services/:team/:bot/:token` with a JSON body `{ text, blocks?, attachments?, ... }` (or form-encoded
 *   `payload=<json>`, the older form Slack still takes) → 200 `ok`.
 * - Every answer is a short plain-text string (`text/plain; charset=utf-8`), never JSON:
 *   - 403 `invalid_token` — token `bad-key` (the URL's secret is wrong);
 *   - 404 `no_service` — token `revoked` (the webhook was disabled or removed; the sandbox's choice of trigger);
 *     also any `POST /services/...` path that is not `team/bot/token`;
 *   - 400 `invalid_payload` — body that is not JSON, not a JSON object, or `text` that is not a string;
 *   - 400 `invalid_blocks` — `blocks` present but not an array; 400 `too_many_attachments` — over 100 attachments;
 *   - 400 `no_text` — no `text`, no `blocks` and no `attachments` (Slack's "missing text" answer; a message made of
 *     blocks or attachments alone is accepted);
 *   - 410 `channel_is_archived` — token `archived` (the sandbox's choice of trigger; checked after the payload, as
 *     the channel is only looked at for a message that could be posted);
 *   - 429 `rate_limited` with `Retry-After: <s>` over `rateLimitPerSecond`. Slack's old rate-limit page speaks of "a
 *     JSON object containing the number of calls"; webhook clients see the plain `rate_limited` string, which the
 *     sandbox sends;
 *   - 500 `rollup_error` for an injected failure ("something strange and unusual happened", the documented 500).
 * - Slack answers `text/html` for `ok` on some hosts; the sandbox says `text/plain`, which changes nothing for a
 *   client reading the body.
 * - Order of checks: token (403 / 404) → `latencyMs` → rate limit (429) → injected failure (500) → payload (400) →
 *   channel (410) → stored.
 *
 * Every accepted message is a `message` record in `state.records.slack` (read at request time: `POST /_reset`
 * replaces it), keyed by the sha256 of `/services/<team>/<bot>/<token>` + the canonical JSON of the payload (keys
 * sorted at every level), so a byte-identical repeat — and any repeat with the same content — is the same record
 * with `writes` 2. Fields `{ channel: '<team>/<bot>/<token>', text, blocks, attachments }` (`null` when absent).
 * Call log key: `<team>/<bot>/<token>`.
 */

const MAX_ATTACHMENTS = 100;

class SlackError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

/** JSON with the keys of every object sorted, so equal payloads give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function parsePayload(request: FastifyRequest): Record<string, unknown> {
  const raw = typeof request.body === 'string' ? request.body : '';
  const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
  let json = raw;
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    json = new URLSearchParams(raw).get('payload') ?? '';
  }
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw new SlackError(400, 'invalid_payload');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new SlackError(400, 'invalid_payload');
  }
  const message = payload as Record<string, unknown>;
  if (message.text !== undefined && message.text !== null && typeof message.text !== 'string') {
    throw new SlackError(400, 'invalid_payload');
  }
  if (message.blocks !== undefined && !Array.isArray(message.blocks)) throw new SlackError(400, 'invalid_blocks');
  if (message.attachments !== undefined && !Array.isArray(message.attachments)) {
    throw new SlackError(400, 'invalid_payload');
  }
  if (Array.isArray(message.attachments) && message.attachments.length > MAX_ATTACHMENTS) {
    throw new SlackError(400, 'too_many_attachments');
  }
  const hasText = typeof message.text === 'string' && message.text.trim() !== '';
  const hasBlocks = Array.isArray(message.blocks) && message.blocks.length > 0;
  const hasAttachments = Array.isArray(message.attachments) && message.attachments.length > 0;
  if (!hasText && !hasBlocks && !hasAttachments) throw new SlackError(400, 'no_text');
  return message;
}

export const slackPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // Every body arrives as a string: Slack's answers to bad payloads are its own plain-text codes, not Fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

  const send = (reply: FastifyReply, status: number, text: string) =>
    reply.code(status).type('text/plain; charset=utf-8').send(text);

  const log = (request: FastifyRequest, key: string | null, status: number, note?: string) =>
    state.system('slack').recordRequest(request, { key, status, creditsCharged: 0, note });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'invalid_payload' : status < 500 ? 'invalid_payload' : 'rollup_error';
    if (status === 500) request.log.error(error);
    log(request, null, status, error.message);
    return send(reply, status, code);
  });

  app.post<{ Params: { team: string; bot: string; token: string } }>(
    '/services/:team/:bot/:token',
    async (request, reply) => {
      const { team, bot, token } = request.params;
      const channel = `${team}/${bot}/${token}`;
      const sys = state.system('slack');
      const answer = (status: number, text: string, note?: string) => {
        log(request, channel, status, note);
        return send(reply, status, text);
      };

      if (token === 'bad-key') return answer(403, 'invalid_token');
      if (token === 'revoked') return answer(404, 'no_service');
      const gate = await sys.gate();
      if (gate.kind === 'rate_limited') {
        reply.header('retry-after', String(gate.retryAfterSeconds));
        return answer(429, 'rate_limited');
      }
      if (gate.kind === 'failure') return answer(500, 'rollup_error');

      let message: Record<string, unknown>;
      try {
        message = parsePayload(request);
      } catch (error) {
        if (error instanceof SlackError) return answer(error.status, error.code);
        throw error;
      }
      if (token === 'archived') return answer(410, 'channel_is_archived');

      const path = `/services/${channel}`;
      const key = createHash('sha256')
        .update(path + canonicalJson(message))
        .digest('hex');
      const { created } = state.records.slack.upsert('message', key, {
        channel,
        text: typeof message.text === 'string' ? message.text : null,
        blocks: message.blocks ?? null,
        attachments: message.attachments ?? null,
      });
      return answer(200, 'ok', created ? undefined : 'repeat of an earlier message');
    },
  );

  // A webhook URL that is not `team/bot/token` names no service.
  app.post('/services/*', async (request, reply) => {
    log(request, null, 404, 'not a webhook URL');
    return send(reply, 404, 'no_service');
  });

  done();
};
