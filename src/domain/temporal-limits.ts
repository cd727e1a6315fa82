/**
 * Temporal's size limits we stay under, stated once, in UTF-8 bytes with a margin below the server defaults
 * (a workflow's summary: 400). Workflow ids are bounded where they are made (`workflowIdFor`).
 */
export const TEMPORAL_LIMITS = {
  summaryBytes: 200,
} as const;

const utf8Bytes = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

/** `text` cut to at most `maxBytes` of UTF-8 on a code-point boundary, with `…` when cut. */
export function cutUtf8(text: string, maxBytes: number): string {
  const chars = Array.from(text);
  const size = (ch: string) => utf8Bytes(ch.codePointAt(0)!);
  if (chars.reduce((sum, ch) => sum + size(ch), 0) <= maxBytes) return text;
  const ellipsis = 3;
  let out = '';
  let used = 0;
  for (const ch of chars) {
    if (used + size(ch) + ellipsis > maxBytes) break;
    out += ch;
    used += size(ch);
  }
  return `${out}…`;
}
