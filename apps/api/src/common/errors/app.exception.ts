import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { FieldIssue } from '@retain/contracts';
import { ErrorCode } from './error-code.js';

/** The one exception type services throw; the filter turns it into `{ error: { code, message, details } }`. */
export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppException';
  }

  static validation(issues: readonly StandardSchemaV1.Issue[], where = 'request'): AppException {
    const fields: FieldIssue[] = issues.map((issue) => ({
      path: (issue.path ?? [])
        .map((segment) => (typeof segment === 'object' ? String(segment.key) : String(segment)))
        .join('.'),
      message: issue.message,
    }));
    const summary = fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ');
    return new AppException(ErrorCode.ValidationFailed, `Invalid ${where}: ${summary}`, { fields });
  }
}
