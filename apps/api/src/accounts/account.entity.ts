import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { numericTransformer } from '../database/columns.js';

/** A customer company: the unit that pays, renews and churns. */
@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT' })
  id!: string;

  /** The id the customer's own systems use (Segment groupId, CRM id). */
  @Index({ unique: true })
  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', nullable: true })
  plan!: string | null;

  @Column({ type: 'numeric', precision: 14, scale: 2, nullable: true, transformer: numericTransformer })
  mrr!: number | null;

  @Column({ type: 'integer', nullable: true })
  seats!: number | null;

  @Column({ type: 'integer', nullable: true })
  employees!: number | null;

  @Column({ type: 'text', nullable: true })
  region!: string | null;

  /** Email of the account manager who owns the account (enterprise and mid-market). */
  @Column({ type: 'text', nullable: true })
  owner!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'churned_at', type: 'timestamptz', nullable: true })
  churnedAt!: Date | null;

  @Column({ name: 'renewal_date', type: 'date', nullable: true })
  renewalDate!: string | null;

  /** Every other attribute the customer sends, numbers kept as numbers. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  traits!: Record<string, unknown>;

  @Column({ name: 'inserted_at', type: 'timestamptz', default: () => 'now()' })
  insertedAt!: Date;

  /** Maintained by a trigger, so bulk upserts move it too; analytics extracts by it. */
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
