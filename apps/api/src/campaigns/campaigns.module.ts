import { Module } from '@nestjs/common';
import { AudienceRepository } from './audience.repository.js';
import { CampaignsController } from './campaigns.controller.js';
import { CampaignsRepository } from './campaigns.repository.js';
import { CampaignsService } from './campaigns.service.js';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';
import {
  DEFAULT_WEBHOOK_POLICY,
  WEBHOOK_POLICY,
  WebhookDeliveryService,
} from './webhook-delivery.service.js';

@Module({
  controllers: [CampaignsController],
  providers: [
    AudienceRepository,
    CampaignsRepository,
    WebhookDeliveriesRepository,
    CampaignsService,
    WebhookDeliveryService,
    { provide: WEBHOOK_POLICY, useValue: DEFAULT_WEBHOOK_POLICY },
  ],
  exports: [CampaignsService, WebhookDeliveryService],
})
export class CampaignsModule {}
