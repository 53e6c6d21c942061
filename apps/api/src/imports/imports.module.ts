import { Module } from '@nestjs/common';
import { ImportsController } from './imports.controller.js';
import { ImportsWriteRepository } from './imports-write.repository.js';
import { ImportsRepository } from './imports.repository.js';
import { ImportsService } from './imports.service.js';

@Module({
  controllers: [ImportsController],
  providers: [ImportsRepository, ImportsWriteRepository, ImportsService],
  exports: [ImportsService],
})
export class ImportsModule {}
