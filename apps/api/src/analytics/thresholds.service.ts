import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_EXPERT_MIN_SCORE } from '@retain/analytics';
import type { ThresholdSettings, Thresholds } from '@retain/contracts';
import { AuthService, type Actor } from '../auth/auth.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { ThresholdsRepository } from './thresholds.repository.js';

/** The configured defaults: TIER_* variables and the proficiency score's neutral point. */
export function defaultThresholds(config: AppConfig): Thresholds {
  return {
    enterpriseMinMrr: config.tiers.enterpriseMinMrr,
    enterpriseMinSeats: config.tiers.enterpriseMinSeats,
    midMarketMinMrr: config.tiers.midMarketMinMrr,
    expertMinScore: DEFAULT_EXPERT_MIN_SCORE,
  };
}

/**
 * Segment thresholds: saved ones (dashboard, API) win over the configured defaults. The analytics
 * job reads them at the start of each run, so a change shows from the next run on.
 */
@Injectable()
export class ThresholdsService {
  constructor(
    private readonly repository: ThresholdsRepository,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async settings(): Promise<ThresholdSettings> {
    const saved = await this.repository.get();
    const defaults = defaultThresholds(this.config);
    return {
      thresholds: saved?.thresholds ?? defaults,
      defaults,
      updatedAt: saved?.updatedAt.toISOString() ?? null,
      updatedBy: saved?.updatedBy ?? null,
    };
  }

  async update(thresholds: Thresholds, by: Actor): Promise<ThresholdSettings> {
    const before = (await this.settings()).thresholds;
    await this.repository.save(thresholds, by.label);
    await this.auth.audit(by, 'settings.thresholds_changed', 'thresholds', { from: before, to: thresholds });
    return this.settings();
  }
}
