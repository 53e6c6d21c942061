import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns/campaigns.module.js';
import { AnalyticsController } from './analytics.controller.js';
import { AnalyticsExtractRepository } from './analytics-extract.repository.js';
import { AnalyticsJobService } from './analytics-job.service.js';
import { AnalyticsResultsRepository } from './analytics-results.repository.js';
import { AnalyticsRunsRepository } from './analytics-runs.repository.js';
import { AnalyticsScheduler } from './analytics.scheduler.js';
import { ScoresController } from './scores.controller.js';
import { ScoresRepository } from './scores.repository.js';
import { ScoresService } from './scores.service.js';
import { ThresholdsController } from './thresholds.controller.js';
import { ThresholdsRepository } from './thresholds.repository.js';
import { ThresholdsService } from './thresholds.service.js';

@Module({
  imports: [CampaignsModule],
  controllers: [AnalyticsController, ScoresController, ThresholdsController],
  providers: [
    AnalyticsRunsRepository,
    AnalyticsExtractRepository,
    AnalyticsResultsRepository,
    AnalyticsJobService,
    AnalyticsScheduler,
    ScoresRepository,
    ScoresService,
    ThresholdsRepository,
    ThresholdsService,
  ],
  exports: [AnalyticsJobService, AnalyticsScheduler, ScoresService],
})
export class AnalyticsModule {}
