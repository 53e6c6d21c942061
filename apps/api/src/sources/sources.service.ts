import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CreatedSource, Source } from '@retain/contracts';
import { AuthService, CLI_ACTOR, type Actor } from '../auth/auth.service.js';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { SourceEntity } from './source.entity.js';
import { SourcesRepository } from './sources.repository.js';

/** How long a key lookup is trusted. A revocation in another API copy takes effect within it. */
const KEY_CACHE_MS = 10_000;
const KEY_CACHE_MAX = 10_000;

export const hashWriteKey = (key: string): string => createHash('sha256').update(key).digest('hex');

function toSource(entity: SourceEntity): Source {
  return {
    id: entity.id,
    name: entity.name,
    writeKeyPrefix: entity.writeKeyPrefix,
    createdAt: entity.createdAt.toISOString(),
    revokedAt: entity.revokedAt?.toISOString() ?? null,
  };
}

/** Sources and their write keys: a key is shown once at creation and stored only as a SHA-256 hash. */
@Injectable()
export class SourcesService {
  private readonly keyCache = new Map<string, { sourceId: number | null; expires: number }>();

  constructor(
    private readonly sources: SourcesRepository,
    private readonly auth: AuthService,
  ) {}

  async create(name: string, by: Actor = CLI_ACTOR): Promise<CreatedSource> {
    // 192 random bits: a hash without salt is safe for keys this long.
    const writeKey = `rk_${randomBytes(24).toString('base64url')}`;
    const entity = await this.sources.create(name, hashWriteKey(writeKey), writeKey.slice(0, 8));
    await this.auth.audit(by, 'source.created', `source:${entity.id}`, { name });
    return { ...toSource(entity), writeKey };
  }

  async list(): Promise<Source[]> {
    return (await this.sources.list()).map(toSource);
  }

  async revoke(id: number, by: Actor = CLI_ACTOR): Promise<Source> {
    const existing = await this.sources.findById(id);
    if (!existing) throw new AppException(ErrorCode.NotFound, `Source ${id} does not exist`);
    await this.sources.revoke(id);
    await this.auth.audit(by, 'source.revoked', `source:${id}`, { name: existing.name });
    this.keyCache.clear();
    return toSource((await this.sources.findById(id))!);
  }

  /** The active source a write key belongs to, or null. */
  async authenticate(writeKey: string): Promise<number | null> {
    const hash = hashWriteKey(writeKey);
    const now = Date.now();
    const cached = this.keyCache.get(hash);
    if (cached && cached.expires > now) return cached.sourceId;
    const source = await this.sources.findActiveByKeyHash(hash);
    if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.clear();
    this.keyCache.set(hash, { sourceId: source?.id ?? null, expires: now + KEY_CACHE_MS });
    return source?.id ?? null;
  }
}
