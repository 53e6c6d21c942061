import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Where events come from (an app, a website, a server). Holds the write key, hashed. */
@Entity({ name: 'sources' })
export class SourceEntity {
  @PrimaryGeneratedColumn('identity', { type: 'integer', generatedIdentity: 'BY DEFAULT' })
  id!: number;

  @Column({ type: 'text' })
  name!: string;

  /** SHA-256 of the write key; the key itself is shown once and never stored. */
  @Column({ name: 'write_key_hash', type: 'text' })
  writeKeyHash!: string;

  /** First characters of the key, so a user can tell keys apart. */
  @Column({ name: 'write_key_prefix', type: 'text' })
  writeKeyPrefix!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
