import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { dataConverter } from '../../src/temporal/codec';
import '../support/config';

const dir = path.join(__dirname, '../fixtures/histories');
const histories = readdirSync(dir).filter((f) => f.endsWith('.json'));

/**
 * Histories recorded from the real stack (`temporal workflow show -o json`, see the folder's README) replayed
 * against today's workflow code: a change that would break running workflows fails here.
 */
describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it.each(histories)('%s replays without non-determinism', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file),
    ).resolves.toBeUndefined();
  });

  // Histories from before payload encryption (plain payloads) replay on a worker that has it on: the codec passes them
  // through (docs/personal-data.md). Encrypted histories replay in test/personal-data/codec-e2e.test.ts.
  it.each(histories)('%s replays with PAYLOAD_CODEC_KEYS set', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
    const config = loadConfig({ PAYLOAD_CODEC_KEYS: `replay:${Buffer.alloc(32, 1).toString('base64')}` });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter: dataConverter(config) },
        history,
        file,
      ),
    ).resolves.toBeUndefined();
  });
});
