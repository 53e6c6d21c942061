import { DataSource, type DataSourceOptions } from 'typeorm';
import { AccountEntity } from '../accounts/account.entity.js';
import { ContactEntity } from '../contacts/contact.entity.js';
import { EventEntity } from '../events/event.entity.js';
import { SourceEntity } from '../sources/source.entity.js';
import { TicketEntity } from '../tickets/ticket.entity.js';
import { InitialSchema1763900000000 } from './migrations/1763900000000-initial-schema.js';
import { Ingest1764000000000 } from './migrations/1764000000000-ingest.js';
import { Analytics1764100000000 } from './migrations/1764100000000-analytics.js';
import { EventsReceivedBrin1764300000000 } from './migrations/1764300000000-events-received-brin.js';
import { CustomSegments1764200000000 } from './migrations/1764200000000-custom-segments.js';
import { ScoreHistory1764400000000 } from './migrations/1764400000000-score-history.js';
import { DashboardIndexes1764500000000 } from './migrations/1764500000000-dashboard-indexes.js';
import { Campaigns1764700000000 } from './migrations/1764700000000-campaigns.js';
import { DashboardSpeed1764800000000 } from './migrations/1764800000000-dashboard-speed.js';
import { AccessControl1764900000000 } from './migrations/1764900000000-access-control.js';
import { ThresholdSettings1765000000000 } from './migrations/1765000000000-threshold-settings.js';
import { AccountListSearch1765100000000 } from './migrations/1765100000000-account-list-search.js';

export const ENTITIES = [AccountEntity, ContactEntity, EventEntity, TicketEntity, SourceEntity];

/** Listed in order; a committed migration is never edited, only followed by a new one. */
export const MIGRATIONS = [
  InitialSchema1763900000000,
  Ingest1764000000000,
  Analytics1764100000000,
  CustomSegments1764200000000,
  EventsReceivedBrin1764300000000,
  ScoreHistory1764400000000,
  DashboardIndexes1764500000000,
  Campaigns1764700000000,
  DashboardSpeed1764800000000,
  AccessControl1764900000000,
  ThresholdSettings1765000000000,
  AccountListSearch1765100000000,
];

/** The one data source definition, used by the API, the CLI and the tests alike. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    extra: { max: 10, application_name: 'retain' },
  };
}

export function createDataSource(url: string): DataSource {
  return new DataSource(dataSourceOptions(url));
}
