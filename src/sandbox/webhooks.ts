import type { FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from './state';

// Placeholder: the webhooks simulator is being written.
export const webhooksPlugin: FastifyPluginCallback<ProviderPluginOptions> = (_app, _options, done) => {
  done();
};
