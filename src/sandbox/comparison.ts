/** The comparison operators HogQL and SOQL have in common, once their parsers have read `==` and `<>` as `=` and `!=`. */
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * Whether `op` holds for a three-way comparison result (negative: less, zero: equal, positive: greater). Each query
 * language decides for itself what a null compares as before asking.
 */
export function opHolds(op: ComparisonOp, order: number): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}
