import type { SandboxSystem, SystemState } from './state';

/**
 * One POST of a simulated system to a receiver (Clay's HTTP API column, PostHog's webhook destination), recorded in
 * the system's log. Never throws: an unreachable or refusing receiver is recorded. Resolves whether it took it (2xx).
 */
export async function postCallback<S extends SandboxSystem>(
  sys: SystemState<S>,
  target: { url: string; auth: string | null; key: string; notePrefix?: string },
  body: unknown,
): Promise<boolean> {
  const note = (text: string) => `${target.notePrefix ?? ''}${text}`;
  const record = (status: number, text: string) =>
    sys.record({
      kind: 'callback',
      method: 'POST',
      path: target.url,
      key: target.key,
      status,
      creditsCharged: 0,
      note: note(text),
    });
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(target.auth ? { authorization: `Bearer ${target.auth}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    const ok = response.status >= 200 && response.status < 300;
    record(response.status, ok ? 'delivered' : 'receiver refused');
    return ok;
  } catch (err) {
    record(0, `unreachable: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
}
