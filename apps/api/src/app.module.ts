import { Module, StandardSchemaValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppException } from './common/errors/app.exception.js';
import { AnalyticsModule } from './analytics/analytics.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CampaignsModule } from './campaigns/campaigns.module.js';
import { AllExceptionsFilter } from './common/errors/http-exception.filter.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { dataSourceOptions } from './database/data-source.js';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { DemoModule } from './demo/demo.module.js';
import { DuckDbModule } from './duckdb/duckdb.module.js';
import { HealthModule } from './health/health.module.js';
import { PgPoolModule } from './database/pg-pool.module.js';
import { ImportsModule } from './imports/imports.module.js';
import { IngestModule } from './ingest/ingest.module.js';
import { RejectedItemsModule } from './rejected-items/rejected-items.module.js';
import { SegmentsModule } from './segments/segments.module.js';
import { SourcesModule } from './sources/sources.module.js';
import { RUNTIME, type Runtime } from './runtime.js';

@Module({})
export class AppModule {
  static register(config: AppConfig, runtime: Runtime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TypeOrmModule.forRoot(dataSourceOptions(runtime.databaseUrl)),
        ScheduleModule.forRoot(),
        DuckDbModule,
        PgPoolModule,
        AuthModule,
        HealthModule,
        DemoModule,
        SourcesModule,
        IngestModule,
        ImportsModule,
        RejectedItemsModule,
        AnalyticsModule,
        SegmentsModule,
        DashboardModule,
        CampaignsModule,
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        {
          provide: APP_PIPE,
          useValue: new StandardSchemaValidationPipe({
            exceptionFactory: (issues) => AppException.validation(issues),
          }),
        },
      ],
      exports: [RUNTIME],
      global: true,
    };
  }
}
