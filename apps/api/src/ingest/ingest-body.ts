import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';

interface RequestLike extends Readable {
  headers: Record<string, string | string[] | undefined>;
}

/** A decompressor for the request's Content-Encoding, or null for none. */
function decoder(encoding: string): zlib.Gunzip | zlib.Inflate | null {
  switch (encoding) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress() as unknown as zlib.Inflate;
    default:
      throw new AppException(
        ErrorCode.ValidationFailed,
        `Content-Encoding "${encoding}" is not supported; send gzip, deflate, br or no encoding`,
        { fields: [{ path: 'content-encoding', message: 'unsupported encoding' }] },
      );
  }
}

/**
 * Reads a request body as bytes, whatever its Content-Type, inflating gzip/deflate. `limit`
 * counts inflated bytes, so a small compressed bomb is stopped as early as a large plain body.
 */
export async function readBody(req: RequestLike, limit: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const declared = Number(req.headers['content-length']);
  const tooLarge = () =>
    new AppException(
      ErrorCode.PayloadTooLarge,
      `Request body is over ${Math.round(limit / 1024)} KB (after decompression); send smaller batches`,
      { limitBytes: limit },
    );
  const inflate = decoder(encoding);
  if (!inflate && Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const stream: Readable = inflate ? req.pipe(inflate) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > limit) {
        req.unpipe();
        req.resume();
        inflate?.destroy();
        throw tooLarge();
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof AppException) throw error;
    // Reading a decompressor, every error is the data's (pipe() does not pass the request's own
    // errors on to it): bad gzip, deflate or brotli bytes, whatever code zlib gives them.
    if (inflate) {
      throw new AppException(
        ErrorCode.ValidationFailed,
        `Body is not valid ${encoding} data (${(error as Error).message})`,
        { fields: [{ path: 'body', message: 'cannot be decompressed' }] },
      );
    }
    throw error;
  }
  return Buffer.concat(chunks, size);
}
