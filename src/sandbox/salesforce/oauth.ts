import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { hash32 } from '../dataset';
import { sleep, type SandboxState } from '../state';
import { ORG_ID, USER_ID } from './ids';
import { stringParams } from './rest';

/**
 * The OAuth 2.0 token endpoint (the login service, not the org): client-credentials and username-password flows.
 * Issued tokens go into `tokens`, which the REST pipeline checks.
 */
export function registerOAuthRoutes(app: FastifyInstance, state: SandboxState, tokens: Set<string>): void {
  let tokenSequence = 0;

  app.post('/services/oauth2/token', async (request, reply) => {
    const sys = state.system('salesforce');
    const params = { ...stringParams(request.query), ...stringParams(request.body) };
    const grant = params.grant_type ?? '';
    const key = (grant === 'password' ? params.username : params.client_id) ?? null;
    const answer = (status: number, body: unknown, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged: 0, note });
      return reply.code(status).header('cache-control', 'no-cache,no-store').send(body);
    };
    const refuse = (error: string, description: string) =>
      answer(400, { error, error_description: description }, error);

    if (sys.control.latencyMs > 0) await sleep(sys.control.latencyMs);
    if (grant === 'refresh_token') return refuse('invalid_grant', 'expired access/refresh token');
    if (grant === 'authorization_code') return refuse('invalid_grant', 'invalid authorization code');
    if (grant !== 'client_credentials' && grant !== 'password') {
      return refuse('unsupported_grant_type', 'grant type not supported');
    }
    if (!params.client_id || params.client_id === 'bad-key') {
      return refuse('invalid_client_id', 'client identifier invalid');
    }
    const secret = params.client_secret;
    if (!secret || secret === 'bad-key') return refuse('invalid_client', 'invalid client credentials');
    if (grant === 'password' && (!params.username || !params.password || params.password === 'bad-key')) {
      return refuse('invalid_grant', 'authentication failure');
    }

    const instanceUrl = `${request.protocol}://${request.host}${app.prefix}`;
    const id = `${instanceUrl}/id/${ORG_ID}/${USER_ID}`;
    const issuedAt = String(Date.now());
    const sequence = ++tokenSequence;
    const token = `${ORG_ID.slice(0, 15)}!AQ${hash32(`${sequence}:${params.client_id}:${params.username ?? ''}`).toString(36)}.${sequence.toString(36)}`;
    tokens.add(token);
    return answer(200, {
      access_token: token,
      signature: createHmac('sha256', secret)
        .update(id + issuedAt)
        .digest('base64'),
      ...(grant === 'client_credentials' ? { scope: 'api' } : {}),
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  });
}
