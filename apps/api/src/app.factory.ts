import fs from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppModule } from './app.module.js';
import { ErrorCode } from './common/errors/error-code.js';
import { findInputProblem, type InputProblem } from './common/hostile-input.js';
import { REPO_ROOT, type AppConfig } from './config/config.js';
import type { Runtime } from './runtime.js';

export const WEB_BUILD_DIR = path.join(REPO_ROOT, 'apps/web/build');

/** Routes that read their body as a stream themselves: ingest, ticket posts and file imports. */
const RAW_BODY_PATHS = /^\/(v1\/|api\/tickets$|api\/imports(\/|$))/;
const JSON_BODY_LIMIT = '1mb';

/** Paths the dashboard must never shadow. */
const API_PATHS = /^\/(api|v1)(\/|$)/;

/**
 * Headers on every answer. The dashboard's own Content-Security-Policy (scripts by hash, nothing from
 * elsewhere) is a <meta> tag its build writes (apps/web/svelte.config.js); this header adds what a
 * <meta> tag cannot: no page may frame Retain's, and no plugin or base-URL tricks for any answer.
 */
function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', "frame-ancestors 'none'; object-src 'none'; base-uri 'self'");
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  next();
}

/**
 * Query strings and JSON bodies with a NUL character (PostgreSQL's text refuses it) or nested past
 * MAX_JSON_DEPTH (a recursive walk would overflow) are answered 400 before any route sees them.
 * Raw bodies (ingest, files) are checked item by item where they are read.
 */
function refuseHostileInput(req: Request, res: Response, next: NextFunction): void {
  const problem =
    prefixed('query', findInputProblem(req.query)) ??
    (req.body !== undefined && !RAW_BODY_PATHS.test(req.path)
      ? prefixed('body', findInputProblem(req.body))
      : null);
  if (!problem) return next();
  const where = problem.path;
  res.status(400).json({
    error: {
      code: ErrorCode.ValidationFailed,
      message: `Invalid request: ${where} ${problem.message}`,
      details: { fields: [{ path: where, message: problem.message }] },
    },
  });
}

const prefixed = (root: string, problem: InputProblem | null): InputProblem | null =>
  problem && { ...problem, path: problem.path ? `${root}.${problem.path}` : root };

/** Builds the whole HTTP app: API under /api, its OpenAPI document and docs, the dashboard at /. */
export async function createApp(config: AppConfig, runtime: Runtime): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, runtime), {
    logger: config.logLevels,
    bufferLogs: false,
    // Body parsing is ours: /v1 and file uploads read raw bytes (any Content-Type, gzip, own limits).
    bodyParser: false,
  });
  app.use(securityHeaders);
  const json = express.json({ limit: JSON_BODY_LIMIT });
  app.use((req: Request, res: Response, next: NextFunction) =>
    RAW_BODY_PATHS.test(req.path) ? next() : json(req, res, next),
  );
  app.use(refuseHostileInput);
  app.setGlobalPrefix('api', { exclude: ['v1/{*path}'] });
  app.disable('x-powered-by');

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Retain API')
      .setDescription('Customer-success analytics and segmentation: ingest, segments, scores, campaigns.')
      .setVersion(runtime.version)
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'An API token (npm run cli -- token:create)',
      })
      .addCookieAuth('retain_session')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/openapi.json',
    useGlobalPrefix: false,
  });

  serveDashboard(app);
  return app;
}

function serveDashboard(app: NestExpressApplication): void {
  const index = path.join(WEB_BUILD_DIR, 'index.html');
  if (!fs.existsSync(index)) return;
  app.useStaticAssets(WEB_BUILD_DIR, { index: false, maxAge: '1h', immutable: false });
  // Client-side routes (/accounts/42, ...) all load the single-page app.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !API_PATHS.test(req.path) && req.accepts('html')) {
      res.sendFile(index);
      return;
    }
    next();
  });
}
