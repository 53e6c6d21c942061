import { Module } from '@nestjs/common';
import { Account360Repository } from './account-360.repository.js';
import { AccountListRepository } from './account-list.repository.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { DashboardSnapshotsRepository } from './dashboard-snapshots.repository.js';
import { DashboardSnapshotsService } from './dashboard-snapshots.service.js';
import { OverviewController } from './overview.controller.js';
import { OverviewRepository } from './overview.repository.js';
import { OverviewService } from './overview.service.js';
import { SegmentScopes } from './segment-scope.js';
import { SegmentSummaryController } from './segment-summary.controller.js';
import { SegmentSummaryRepository } from './segment-summary.repository.js';
import { SegmentSummaryService } from './segment-summary.service.js';
import { SupportQualityController } from './support-quality.controller.js';
import { SupportQualityRepository } from './support-quality.repository.js';
import { SupportQualityService } from './support-quality.service.js';

/** The dashboard's read API: overview, trends, support quality, account lists, segment and account pages. */
@Module({
  controllers: [OverviewController, SupportQualityController, AccountsController, SegmentSummaryController],
  providers: [
    DashboardSnapshotsRepository,
    DashboardSnapshotsService,
    SegmentScopes,
    OverviewRepository,
    OverviewService,
    SupportQualityRepository,
    SupportQualityService,
    AccountListRepository,
    Account360Repository,
    AccountsService,
    SegmentSummaryRepository,
    SegmentSummaryService,
  ],
})
export class DashboardModule {}
