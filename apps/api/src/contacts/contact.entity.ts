import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A person at an account; external id is the Segment userId. */
@Entity({ name: 'contacts' })
@Index('contacts_account_id_idx', ['accountId'])
export class ContactEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT' })
  id!: string;

  @Index({ unique: true })
  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @Column({ name: 'account_id', type: 'bigint', nullable: true })
  accountId!: string | null;

  @Column({ type: 'text', nullable: true })
  email!: string | null;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  traits!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
