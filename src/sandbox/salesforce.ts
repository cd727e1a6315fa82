import type { FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from './state';

// Placeholder: the salesforce simulator is being written.
export const salesforcePlugin: FastifyPluginCallback<ProviderPluginOptions> = (_app, _options, done) => {
  done();
};
