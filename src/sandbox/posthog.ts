import type { FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from './state';

// Placeholder: the posthog simulator is being written.
export const posthogPlugin: FastifyPluginCallback<ProviderPluginOptions> = (_app, _options, done) => {
  done();
};
