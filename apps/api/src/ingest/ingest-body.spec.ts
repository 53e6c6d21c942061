import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { AppException } from '../common/errors/app.exception.js';
import { readBody } from './ingest-body.js';

const request = (body: Buffer, encoding?: string) =>
  Object.assign(Readable.from([body]), { headers: encoding ? { 'content-encoding': encoding } : {} });

describe('readBody', () => {
  it('inflates gzip, deflate and brotli bodies', async () => {
    const text = Buffer.from('{"batch":[]}');
    expect(String(await readBody(request(zlib.gzipSync(text), 'gzip'), 1024))).toBe('{"batch":[]}');
    expect(String(await readBody(request(zlib.deflateSync(text), 'deflate'), 1024))).toBe('{"batch":[]}');
    expect(String(await readBody(request(zlib.brotliCompressSync(text), 'br'), 1024))).toBe('{"batch":[]}');
  });

  it.each(['gzip', 'deflate', 'br'])(
    'answers bytes that are not %s data with a 400 naming the body',
    async (encoding) => {
      const failure = await readBody(request(Buffer.from([0xb3, 0x00, 0x17]), encoding), 1024).catch(
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(AppException);
      expect(failure).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [{ path: 'body' }] } });
    },
  );

  it('stops a compressed body that inflates past the limit', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(1_000_000));
    await expect(readBody(request(bomb, 'gzip'), 1024)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});
