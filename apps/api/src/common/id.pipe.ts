import type { PipeTransform } from '@nestjs/common';
import { AppException } from './errors/app.exception.js';
import { ErrorCode } from './errors/error-code.js';

/**
 * A path id: a whole number from 1 up to `max` (PostgreSQL's integer for `integer` keys; the
 * largest exact JavaScript integer for `bigint` keys), else 400 naming the parameter. Ids past the
 * column's range would otherwise reach PostgreSQL and fail there.
 */
export class ParseIdPipe implements PipeTransform<string, number> {
  /** For `bigint` keys. Used as an instance (`@Param('id', ParseIdPipe.BIGINT)`), not injected. */
  static readonly BIGINT = new ParseIdPipe(Number.MAX_SAFE_INTEGER);
  /** For `integer` keys. */
  static readonly INTEGER = new ParseIdPipe(2_147_483_647);

  private constructor(private readonly max: number) {}

  transform(value: string, metadata: { data?: string }): number {
    const name = metadata.data ?? 'id';
    const id = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(id) || id < 1 || id > this.max) {
      const message = `must be a whole number from 1 to ${this.max}`;
      throw new AppException(ErrorCode.ValidationFailed, `${name}: ${message}`, {
        fields: [{ path: name, message }],
      });
    }
    return id;
  }
}
