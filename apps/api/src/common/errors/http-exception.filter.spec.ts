import { describe, expect, it, jest } from '@jest/globals';
import { NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { AppException } from './app.exception.js';
import { ErrorCode } from './error-code.js';
import { AllExceptionsFilter } from './http-exception.filter.js';

function run(exception: unknown) {
  const sent: { status?: number; body?: unknown; headers: Record<string, string> } = { headers: {} };
  const response = {
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
    },
    setHeader(name: string, value: string) {
      sent.headers[name] = value;
    },
  };
  const host = {
    switchToHttp: () => ({
      getRequest: () => ({ method: 'GET', url: '/api/x' }),
      getResponse: () => response,
    }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter().catch(exception, host);
  return sent;
}

describe('AllExceptionsFilter', () => {
  it('answers an AppException with its code, message and details', () => {
    const sent = run(new AppException(ErrorCode.Conflict, 'Already there', { id: 1 }));
    expect(sent.status).toBe(409);
    expect(sent.body).toEqual({ error: { code: 'CONFLICT', message: 'Already there', details: { id: 1 } } });
  });

  it('names each invalid field of a validation failure', () => {
    const error = AppException.validation([
      { message: 'Required', path: ['batch', 3, { key: 'timestamp' }] },
      { message: 'Too long' },
    ]);
    const sent = run(error);
    expect(sent.status).toBe(400);
    expect(sent.body).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'Invalid request: batch.3.timestamp: Required; Too long',
        details: {
          fields: [
            { path: 'batch.3.timestamp', message: 'Required' },
            { path: '', message: 'Too long' },
          ],
        },
      },
    });
  });

  it('maps Nest HTTP exceptions to the same body', () => {
    expect(run(new NotFoundException('Cannot GET /api/nope')).body).toEqual({
      error: { code: 'NOT_FOUND', message: 'Cannot GET /api/nope' },
    });
  });

  it('answers 503 with Retry-After when the database cannot be reached', () => {
    const sent = run(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    );
    expect(sent.status).toBe(503);
    expect(sent.headers['Retry-After']).toBe('5');
    expect((sent.body as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');
  });

  it.each(['Connection terminated unexpectedly', 'timeout exceeded when trying to connect'])(
    'answers 503 to node-postgres errors without a code: %s',
    (message) => {
      const sent = run(new Error(message));
      expect(sent.status).toBe(503);
      expect(sent.headers['Retry-After']).toBe('5');
    },
  );

  it('answers 429 with a short Retry-After when ingest is at capacity', () => {
    const sent = run(
      new AppException(ErrorCode.TooManyRequests, 'Ingest is at capacity; retry after a short pause'),
    );
    expect(sent.status).toBe(429);
    expect(sent.headers['Retry-After']).toBe('1');
  });

  it('hides the internals of unknown errors', () => {
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const sent = run(new Error('relation "secret_table" does not exist at /srv/app.ts:42'));
    spy.mockRestore();
    logged.mockRestore();
    expect(sent.status).toBe(500);
    expect(JSON.stringify(sent.body)).not.toMatch(/secret_table|app\.ts/);
    expect(sent.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal error; it has been logged' } });
  });
});
