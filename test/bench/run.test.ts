import { describe, expect, it } from 'vitest';
import { GENERATED_END, GENERATED_START, renderTables, replaceGenerated, type Report } from '../../bench/run';

const report: Report = {
  machine: { cpu: 'Test CPU', cores: 2, memoryGb: 8, node: 'v20.0.0', os: 'Linux', loadAverage: 0.5 },
  startedAt: '2026-12-01T00:00:00.000Z',
  durationMs: 61_000,
  smoke: false,
  results: [
    {
      id: 'P1',
      title: 'Intake',
      setup: { connections: 64 },
      durationMs: 30_000,
      figures: [
        { name: 'ours ÷ bare', value: 0.25, unit: '×', goal: '≥ 0.3×', met: false },
        { name: 'a | piped name', value: 1234, unit: 'req/s', note: 'why it is so' },
      ],
    },
    { id: 'P4', title: 'Worker', setup: {}, figures: [], durationMs: 5, error: 'worker exited' },
  ],
};

describe('the docs/performance.md writer', () => {
  it('renders the machine, a table per benchmark, goals, notes and failures', () => {
    const text = renderTables(report);
    expect(text).toContain('Test CPU, 2 cores, 8 GB, Node v20.0.0, Linux; load average 0.5');
    expect(text).toContain('| ours ÷ bare | 0.25 | × | ≥ 0.3× | no |');
    expect(text).toContain('| a \\| piped name | 1,234 | req/s |  |  |');
    expect(text).toContain('- a | piped name: why it is so');
    expect(text).toContain('### P4 — Worker\n\n**Failed:** worker exited');
  });

  it('replaces only what is between the markers, keeping the prose around them', () => {
    const doc = `# Performance\n\nprose before\n\n${GENERATED_START}\n\nold table\n\n${GENERATED_END}\n\nprose after\n`;
    const next = replaceGenerated(doc, 'new table');
    expect(next).toBe(
      `# Performance\n\nprose before\n\n${GENERATED_START}\n\nnew table\n\n${GENERATED_END}\n\nprose after\n`,
    );
    expect(replaceGenerated(next, 'newer')).toContain('prose after');
  });

  it('appends the markers to a doc without them', () => {
    expect(replaceGenerated('# Performance\n', 'table')).toBe(
      `# Performance\n\n${GENERATED_START}\n\ntable\n\n${GENERATED_END}\n`,
    );
  });
});
