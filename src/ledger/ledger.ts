import { CompanyCacheRepository } from './company-cache';
import { DashboardRepository } from './dashboard';
import { DestinationLinksRepository } from './destination-links';
import { DestinationWritesRepository } from './destination-writes';
import { ErasuresRepository } from './erasures';
import { HealthRepository } from './health';
import { MetricsRepository } from './metrics';
import { migrate } from './migrations';
import { OutboxRepository } from './outbox';
import { ProviderArchiveRepository } from './provider-archive';
import { RetentionRepository } from './retention';
import { SignupsRepository } from './signups';
import { openPglite, openPostgres, type PostgresTimeouts, type Sql } from './sql';

/**
 * The signups ledger: every signup is recorded here before it is acknowledged, and it doubles as the outbox. One
 * repository per concern, all over the same `Sql`, so they share one pool and a caller asks for only what it needs.
 */
export class Ledger {
  readonly signups: SignupsRepository;
  readonly outbox: OutboxRepository;
  readonly providerArchive: ProviderArchiveRepository;
  readonly companyCache: CompanyCacheRepository;
  readonly destinationWrites: DestinationWritesRepository;
  /** A company's Close lead by domain, and the lease that makes writers of one company take turns. */
  readonly destinationLinks: DestinationLinksRepository;
  /** Daily counts, evidence, pause and snooze, incidents, backfill marks. */
  readonly health: HealthRepository;
  /** The purge of expired raw data (payloads, provider answers). */
  readonly retention: RetentionRepository;
  /** `enrich forget`: a person's signups scrubbed, and the record of each erasure by keyed hash. */
  readonly erasures: ErasuresRepository;
  /** Whole-ledger aggregates for the worker's Prometheus metrics. */
  readonly metrics: MetricsRepository;
  /** What `/dashboard` reads besides the health counts and statuses: credits per day, open incidents, the snooze. */
  readonly dashboard: DashboardRepository;

  constructor(private readonly sql: Sql) {
    this.signups = new SignupsRepository(sql);
    this.outbox = new OutboxRepository(sql);
    this.providerArchive = new ProviderArchiveRepository(sql);
    this.companyCache = new CompanyCacheRepository(sql);
    this.destinationWrites = new DestinationWritesRepository(sql);
    this.destinationLinks = new DestinationLinksRepository(sql);
    this.health = new HealthRepository(sql);
    this.retention = new RetentionRepository(sql);
    this.erasures = new ErasuresRepository(sql);
    this.metrics = new MetricsRepository(sql);
    this.dashboard = new DashboardRepository(sql);
  }

  get engine(): Sql['engine'] {
    return this.sql.engine;
  }

  async ping(): Promise<void> {
    await this.sql.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

/**
 * Opens PostgreSQL when a URL is given (with `timeouts`, by default the intake's short ones), else the embedded PGlite
 * under `dataDir`, and applies migrations.
 */
export async function openLedger(options: {
  databaseUrl: string | undefined;
  dataDir?: string;
  timeouts?: Partial<PostgresTimeouts>;
}): Promise<Ledger> {
  const sql = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.timeouts)
    : await openPglite(options.dataDir);
  try {
    await migrate(sql);
  } catch (err) {
    await sql.close();
    throw err;
  }
  return new Ledger(sql);
}
