import { Module } from '@nestjs/common';
import { SourcesModule } from '../sources/sources.module.js';
import { IngestController } from './ingest.controller.js';
import { IngestRepository } from './ingest.repository.js';
import { IngestService } from './ingest.service.js';

@Module({
  imports: [SourcesModule],
  controllers: [IngestController],
  providers: [IngestRepository, IngestService],
})
export class IngestModule {}
