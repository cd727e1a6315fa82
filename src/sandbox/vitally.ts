import type { FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from './state';

// Placeholder: the vitally simulator is being written.
export const vitallyPlugin: FastifyPluginCallback<ProviderPluginOptions> = (_app, _options, done) => {
  done();
};
