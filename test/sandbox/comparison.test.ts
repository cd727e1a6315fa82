import { describe, expect, it } from 'vitest';
import { opHolds, type ComparisonOp } from '../../src/sandbox/comparison';

describe('comparison operators shared by HogQL and SOQL', () => {
  it('hold for less, equal and greater as each operator says', () => {
    const table: Record<ComparisonOp, [boolean, boolean, boolean]> = {
      '=': [false, true, false],
      '!=': [true, false, true],
      '<': [true, false, false],
      '<=': [true, true, false],
      '>': [false, false, true],
      '>=': [false, true, true],
    };
    for (const [op, expected] of Object.entries(table) as [ComparisonOp, [boolean, boolean, boolean]][]) {
      expect(
        [-1, 0, 1].map((order) => opHolds(op, order)),
        op,
      ).toEqual(expected);
    }
  });
});
