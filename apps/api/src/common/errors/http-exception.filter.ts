import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ErrorBody } from '@retain/contracts';
import { AppException } from './app.exception.js';
import { ERROR_STATUS, ErrorCode, codeForStatus } from './error-code.js';

/** PostgreSQL error classes and socket errors that mean "the database is not reachable now". */
/** What node-postgres says, without a code, when a connection drops or cannot be had. */
const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return error instanceof Error && LOST_CONNECTION.test(error.message);
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300'].includes(code) ||
    code.startsWith('08')
  );
}

/** Maps every error to one body shape; unknown errors are logged with context and never leak. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const { status, body } = this.toBody(exception, request);
    if (status === ERROR_STATUS[ErrorCode.DatabaseUnavailable]) response.setHeader('Retry-After', '5');
    if (status === ERROR_STATUS[ErrorCode.TooManyRequests]) response.setHeader('Retry-After', '1');
    response.status(status).json(body);
  }

  private toBody(exception: unknown, request: Request): { status: number; body: ErrorBody } {
    if (exception instanceof AppException) {
      return {
        status: ERROR_STATUS[exception.code],
        body: { error: { code: exception.code, message: exception.message, details: exception.details } },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const message =
        typeof payload === 'string'
          ? payload
          : Array.isArray((payload as { message?: unknown }).message)
            ? (payload as { message: string[] }).message.join('; ')
            : String((payload as { message?: unknown }).message ?? exception.message);
      return { status, body: { error: { code: codeForStatus(status), message } } };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`${request.method} ${request.url}: database unavailable (${String(exception)})`);
      return {
        status: ERROR_STATUS[ErrorCode.DatabaseUnavailable],
        body: {
          error: {
            code: ErrorCode.DatabaseUnavailable,
            message: 'The database is unavailable; retry shortly',
          },
        },
      };
    }
    this.logger.error(
      `${request.method} ${request.url} failed`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return {
      status: ERROR_STATUS[ErrorCode.Internal],
      body: { error: { code: ErrorCode.Internal, message: 'Internal error; it has been logged' } },
    };
  }
}
