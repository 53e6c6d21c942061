import { Injectable } from '@nestjs/common';
import type { Movements, MovementsQuery, SupportMetricRow, SupportMetricsQuery } from '@retain/contracts';
import { csvLine } from '../common/csv/csv-writer.js';
import { ScoresRepository } from './scores.repository.js';

/** The columns of the scores export, in order (a contract: CRMs and warehouses map them). */
export const SCORE_EXPORT_COLUMNS = [
  'external_id',
  'tier',
  'proficiency',
  'segments',
  'churn_risk',
  'health',
  'upsell_score',
  'top_reasons',
] as const;

@Injectable()
export class ScoresService {
  constructor(private readonly scores: ScoresRepository) {}

  supportMetrics(query: SupportMetricsQuery): Promise<SupportMetricRow[]> {
    return this.scores.supportMetrics(query);
  }

  movements(query: MovementsQuery): Promise<Movements> {
    return this.scores.movements(query);
  }

  /** One CSV row per scored account; segments as "base;custom;...", reasons as "feature; ...", strongest first. */
  async *exportCsv(): AsyncGenerator<string> {
    yield csvLine(SCORE_EXPORT_COLUMNS);
    for await (const page of this.scores.exportRows()) {
      let chunk = '';
      for (const r of page) {
        chunk += csvLine([
          r.external_id,
          r.tier,
          r.proficiency,
          r.custom_segments ? `${r.segment};${r.custom_segments}` : r.segment,
          r.churn_risk === null ? null : Math.round(r.churn_risk * 10_000) / 10_000,
          r.health,
          r.upsell_score === null ? null : Math.round(r.upsell_score * 10_000) / 10_000,
          r.churn_reasons
            .map((reason) => reason.feature)
            .filter(Boolean)
            .join('; '),
        ]);
      }
      yield chunk;
    }
  }
}
