import { describe, expect, it } from '@jest/globals';
import { AppException } from './errors/app.exception.js';
import { ParseIdPipe } from './id.pipe.js';

describe('ParseIdPipe', () => {
  const meta = { data: 'id' };

  it('turns a whole number in range into a number', () => {
    expect(ParseIdPipe.BIGINT.transform('42', meta)).toBe(42);
    expect(ParseIdPipe.BIGINT.transform(String(Number.MAX_SAFE_INTEGER), meta)).toBe(Number.MAX_SAFE_INTEGER);
    expect(ParseIdPipe.INTEGER.transform('2147483647', meta)).toBe(2147483647);
  });

  it.each([
    ['0'],
    ['-1'],
    ['1.5'],
    ['1e3'],
    [' 7'],
    ['abc'],
    [''],
    ['9007199254740992'],
    ['99999999999999999999'],
  ])('refuses %p with a 400 naming the parameter', (value) => {
    const call = () => ParseIdPipe.BIGINT.transform(value, meta);
    expect(call).toThrow(AppException);
    expect(call).toThrow(/^id: must be a whole number from 1 to 9007199254740991$/);
  });

  it('keeps integer keys within PostgreSQL integer', () => {
    expect(() => ParseIdPipe.INTEGER.transform('2147483648', meta)).toThrow(/from 1 to 2147483647/);
  });
});
