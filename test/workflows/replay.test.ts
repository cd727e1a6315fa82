import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { dataConverter, ENCRYPTED_ENCODING } from '../../src/temporal/codec';
import '../support/config';

const dir = path.join(__dirname, '../fixtures/histories');
const histories = readdirSync(dir).filter((f) => f.endsWith('.json'));
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');
/** Histories recorded with payload encryption on (the README names them and their published test key). */
const encrypted = histories.filter((f) => read(f).includes(Buffer.from(ENCRYPTED_ENCODING).toString('base64')));
const plain = histories.filter((f) => !encrypted.includes(f));
/** The test key the encrypted histories were recorded under: published, never a deployment's. */
const FIXTURE_KEYS = `fixture:${Buffer.alloc(32, 0x42).toString('base64')}`;
const bundle = () => ({ workflowBundle: { codePath: inject('workflowBundlePath') } });

/**
 * Histories recorded from the real stack (`temporal workflow show -o json`, see the folder's README) replayed
 * against today's workflow code: a change that would break running workflows fails here.
 */
describe('replay of recorded histories', () => {
  it('has recorded histories to replay, plain and encrypted', () => {
    expect(plain.length).toBeGreaterThan(0);
    expect(encrypted.length).toBeGreaterThan(0);
  });

  it.each(plain)('%s replays without non-determinism', async (file) => {
    const history = JSON.parse(read(file)) as unknown;
    await expect(Worker.runReplayHistory(bundle(), history, file)).resolves.toBeUndefined();
  });

  // Every history replays on a worker with payload encryption on: plain payloads (from before it was turned on) pass
  // through the codec, encrypted ones are decrypted (docs/personal-data.md).
  it.each(histories)('%s replays with PAYLOAD_CODEC_KEYS set', async (file) => {
    const history = JSON.parse(read(file)) as unknown;
    const converter = dataConverter(loadConfig({ PAYLOAD_CODEC_KEYS: FIXTURE_KEYS }));
    await expect(
      Worker.runReplayHistory({ ...bundle(), dataConverter: converter }, history, file),
    ).resolves.toBeUndefined();
  });

  it.each(encrypted)('%s does not replay without its key', async (file) => {
    const history = JSON.parse(read(file)) as unknown;
    await expect(Worker.runReplayHistory(bundle(), history, file)).rejects.toThrow();
  });
});
