import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { SourceEntity } from './source.entity.js';

@Injectable()
export class SourcesRepository {
  constructor(@InjectRepository(SourceEntity) private readonly sources: Repository<SourceEntity>) {}

  create(name: string, writeKeyHash: string, writeKeyPrefix: string): Promise<SourceEntity> {
    return this.sources.save(this.sources.create({ name, writeKeyHash, writeKeyPrefix }));
  }

  list(): Promise<SourceEntity[]> {
    return this.sources.find({ order: { id: 'ASC' } });
  }

  findById(id: number): Promise<SourceEntity | null> {
    return this.sources.findOneBy({ id });
  }

  findActiveByKeyHash(writeKeyHash: string): Promise<SourceEntity | null> {
    return this.sources.findOneBy({ writeKeyHash, revokedAt: IsNull() });
  }

  async revoke(id: number): Promise<void> {
    await this.sources.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }
}
