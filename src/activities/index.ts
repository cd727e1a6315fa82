import type { Ledger } from '../ledger/ledger';
import { createLedgerActivities } from './ledger';

export interface ActivityDeps {
  ledger: Ledger;
}

/** Every activity the worker registers, wired once from its dependencies. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createLedgerActivities(deps),
});

export type Activities = ReturnType<typeof createActivities>;
