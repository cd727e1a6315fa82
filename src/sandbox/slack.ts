import type { FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from './state';

// Placeholder: the slack simulator is being written.
export const slackPlugin: FastifyPluginCallback<ProviderPluginOptions> = (_app, _options, done) => {
  done();
};
