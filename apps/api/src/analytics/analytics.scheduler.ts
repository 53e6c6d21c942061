import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { AnalyticsJobService } from './analytics-job.service.js';

export const ANALYTICS_CRON_JOB = 'analytics';

/**
 * The analytics schedule (ANALYTICS_CRON, default every 15 minutes). Started by the server only,
 * never by CLI commands; the tick never throws and skips while a run is going on anywhere.
 */
@Injectable()
export class AnalyticsScheduler {
  private readonly logger = new Logger('Analytics');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly job: AnalyticsJobService,
  ) {}

  start(): void {
    const cron = CronJob.from({
      cronTime: this.config.analytics.cron,
      onTick: () => void this.job.tick(),
      start: false,
      waitForCompletion: true,
    });
    this.registry.addCronJob(ANALYTICS_CRON_JOB, cron);
    cron.start();
    this.logger.log(`Analytics scheduled: "${this.config.analytics.cron}"`);
    // A new install (or one whose last run failed) gets results now rather than at the next tick.
    void this.job.hasResults().then((has) => (has ? undefined : this.job.tick()));
  }
}
