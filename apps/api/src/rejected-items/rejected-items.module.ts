import { Module } from '@nestjs/common';
import { RejectedItemsController } from './rejected-items.controller.js';
import { RejectedItemsRepository } from './rejected-items.repository.js';

@Module({
  controllers: [RejectedItemsController],
  providers: [RejectedItemsRepository],
  exports: [RejectedItemsRepository],
})
export class RejectedItemsModule {}
