import { Readable, pipeline } from 'node:stream';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ParseIdPipe } from '../common/id.pipe.js';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AudienceFieldListSchema,
  AudienceHistorySchema,
  AudiencePointSchema,
  CampaignExportQuerySchema,
  CampaignListSchema,
  CampaignMembersPageSchema,
  CampaignListQuerySchema,
  GoalEventListSchema,
  CampaignMembersQuerySchema,
  CampaignOutcomeSchema,
  CampaignPreviewRequestSchema,
  CampaignPreviewSchema,
  CampaignSchema,
  CreateCampaignRequestSchema,
  CreatedCampaignSchema,
  DeliveryListSchema,
  ErrorBodySchema,
  WebhookSecretSchema,
  type AudienceFieldList,
  type AudienceHistory,
  type AudiencePoint,
  type Campaign,
  type CampaignExportQuery,
  type CampaignList,
  type CampaignMembersPage,
  type CampaignListQuery,
  type GoalEventList,
  type CampaignMembersQuery,
  type CampaignOutcome,
  type CampaignPreview,
  type CampaignPreviewRequest,
  type CreateCampaignRequest,
  type CreatedCampaign,
  type DeliveryList,
  type WebhookSecret,
} from '@retain/contracts';
import { CampaignsService } from './campaigns.service.js';
import { clientIp, CurrentPrincipal, dataAccess, Requires, type Principal } from '../auth/access.js';
import { actorOf, AuthService } from '../auth/auth.service.js';

@ApiTags('campaigns')
@Controller('campaigns')
export class CampaignsController {
  constructor(
    private readonly campaigns: CampaignsService,
    private readonly auth: AuthService,
  ) {}

  @Get('fields')
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'The account and contact fields an audience filter may use (for the builder)' })
  @ApiResponse({ status: 200, standardSchema: AudienceFieldListSchema })
  fields(): AudienceFieldList {
    return this.campaigns.fields();
  }

  @Get('goal-events')
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'Event names sent in the last 30 days, most frequent first (goal suggestions)' })
  @ApiResponse({ status: 200, standardSchema: GoalEventListSchema })
  goalEvents(): Promise<GoalEventList> {
    return this.campaigns.goalEvents();
  }

  @Post('preview')
  @Requires('campaigns:write')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Live audience: accounts and contacts it matches now, a sample, counts per segment',
  })
  @ApiResponse({ status: 200, standardSchema: CampaignPreviewSchema })
  @ApiResponse({
    status: 400,
    description: 'Names each invalid part of the audience',
    standardSchema: ErrorBodySchema,
  })
  preview(
    @Body({ schema: CampaignPreviewRequestSchema }) body: CampaignPreviewRequest,
  ): Promise<CampaignPreview> {
    return this.campaigns.preview(body);
  }

  @Post()
  @Requires('campaigns:write')
  @ApiOperation({ summary: 'Create a campaign and draw its first members; the webhook secret is shown once' })
  @ApiResponse({ status: 201, standardSchema: CreatedCampaignSchema })
  @ApiResponse({ status: 400, description: 'Names each invalid field', standardSchema: ErrorBodySchema })
  @ApiResponse({ status: 409, description: 'The name is taken', standardSchema: ErrorBodySchema })
  create(
    @Body({ schema: CreateCampaignRequestSchema }) body: CreateCampaignRequest,
  ): Promise<CreatedCampaign> {
    return this.campaigns.create(body);
  }

  @Get()
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'Campaigns, newest first, a page at a time, with their member counts' })
  @ApiResponse({ status: 200, standardSchema: CampaignListSchema })
  list(@Query({ schema: CampaignListQuerySchema }) query: CampaignListQuery): Promise<CampaignList> {
    return this.campaigns.list(query);
  }

  @Get(':id')
  @Requires('campaigns:read')
  @ApiResponse({ status: 200, standardSchema: CampaignSchema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  get(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<Campaign> {
    return this.campaigns.get(id);
  }

  @Post(':id/stop')
  @Requires('campaigns:write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop: no new members, unsent batches cancelled; the outcome is still measured' })
  @ApiResponse({ status: 200, standardSchema: CampaignSchema })
  stop(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<Campaign> {
    return this.campaigns.stop(id);
  }

  @Post(':id/refresh')
  @Requires('campaigns:write')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Let new audience matches join now (refresh campaigns also do at every analytics run)',
  })
  @ApiResponse({ status: 200, standardSchema: AudiencePointSchema })
  @ApiResponse({ status: 409, description: 'The campaign is stopped', standardSchema: ErrorBodySchema })
  refresh(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<AudiencePoint> {
    return this.campaigns.refresh(id);
  }

  @Post(':id/webhook-secret')
  @Requires('campaigns:write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replace the webhook signing secret; the new one is shown once' })
  @ApiResponse({ status: 200, standardSchema: WebhookSecretSchema })
  @ApiResponse({ status: 409, description: 'Not a webhook campaign', standardSchema: ErrorBodySchema })
  async rotateWebhookSecret(
    @Param('id', ParseIdPipe.BIGINT) id: number,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<WebhookSecret> {
    const secret = await this.campaigns.rotateWebhookSecret(id);
    await this.auth.audit(actorOf(principal, clientIp(req)), 'campaign.webhook_secret', `campaign:${id}`);
    return secret;
  }

  @Get(':id/members')
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'Members (contacted and holdout) in contact id order, a page at a time' })
  @ApiResponse({ status: 200, standardSchema: CampaignMembersPageSchema })
  members(
    @Param('id', ParseIdPipe.BIGINT) id: number,
    @Query({ schema: CampaignMembersQuerySchema }) query: CampaignMembersQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CampaignMembersPage> {
    return this.campaigns.members(id, query, dataAccess(principal));
  }

  @Get(':id/audience-history')
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'Audience over time: matches, suppressed and new members at each refresh' })
  @ApiResponse({ status: 200, standardSchema: AudienceHistorySchema })
  history(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<AudienceHistory> {
    return this.campaigns.history(id);
  }

  @Get(':id/deliveries')
  @Requires('campaigns:read')
  @ApiOperation({ summary: 'Webhook batches with every attempt, and CSV exports, newest first' })
  @ApiResponse({ status: 200, standardSchema: DeliveryListSchema })
  deliveries(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<DeliveryList> {
    return this.campaigns.deliveries(id);
  }

  @Get(':id/outcome')
  @Requires('campaigns:read')
  @ApiOperation({
    summary: 'Goal conversion, contacted against holdout, and the uplift with its 95% interval',
  })
  @ApiResponse({ status: 200, standardSchema: CampaignOutcomeSchema })
  outcome(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<CampaignOutcome> {
    return this.campaigns.outcome(id);
  }

  @Get(':id/export.csv')
  @Requires('audiences:export')
  @ApiOperation({ summary: 'Contacted members as CSV (never the holdout), for an email tool' })
  @ApiProduces('text/csv')
  async exportCsv(
    @Param('id', ParseIdPipe.BIGINT) id: number,
    @Query({ schema: CampaignExportQuerySchema }) query: CampaignExportQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const lines = await this.campaigns.exportCsv(id, query);
    await this.auth.audit(actorOf(principal, clientIp(req)), 'export.audience', `campaign:${id}`, {
      ...query,
    });
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="retain-campaign-${id}.csv"`);
    // pipeline, not pipe: a client leaving mid-file ends the generator, which closes its cursor.
    pipeline(Readable.from(lines), res, () => undefined);
  }
}
