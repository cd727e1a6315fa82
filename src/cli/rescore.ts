import { loadConfig } from '../config';
import { rescoreAll } from '../icp/rescore';
import { openLedger } from '../ledger/ledger';
import { ledgerDir, runMain } from '../process';

/**
 * `npm run rescore`: applies the current ICP scoring config (ICP_SCORING_CONFIG) to every enriched signup, from the
 * fields in the ledger — no provider call. With the embedded ledger, stop `npm start` first (one process owns it).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const ledger = await openLedger({ databaseUrl: config.databaseUrl, dataDir: ledgerDir(config) });
  try {
    const { examined, changed, outsideRetention } = await rescoreAll(ledger, config.scoring, (n) =>
      process.stdout.write(`\rrescoring… ${n} signups`),
    );
    console.log(`\nscoring config ${config.scoring.version}: ${examined} signups examined, ${changed} rescored`);
    if (outsideRetention > 0) {
      console.log(
        `${outsideRetention} of them outside the retention window (RAW_DATA_RETENTION_DAYS = ${config.retention.rawDataDays}): ` +
          'rescored from their stored fields; their raw payload or provider answers are purged',
      );
    }
  } finally {
    await ledger.close();
  }
}

runMain(main);
