import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const CHANNELS = ['chat', 'email', 'phone', 'web', 'social'] as const;
export type Channel = (typeof CHANNELS)[number];

/** five_point: 1-5, satisfied at 4-5. good_bad: 1 = good, 0 = bad. */
export const CSAT_SCALES = ['five_point', 'good_bad'] as const;
export type CsatScale = (typeof CSAT_SCALES)[number];

/** A support ticket. (source, external_id) is unique: a ticket seen again updates its row. */
@Entity({ name: 'tickets' })
export class TicketEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT' })
  id!: string;

  /** The system it came from: zendesk, csv, api, demo, ... */
  @Column({ type: 'text' })
  source!: string;

  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @Column({ name: 'account_id', type: 'bigint', nullable: true })
  accountId!: string | null;

  @Column({ name: 'contact_id', type: 'bigint', nullable: true })
  contactId!: string | null;

  @Column({ type: 'text' })
  channel!: Channel;

  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ type: 'text', nullable: true })
  priority!: string | null;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', array: true, default: () => "'{}'::text[]" })
  tags!: string[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'first_response_at', type: 'timestamptz', nullable: true })
  firstResponseAt!: Date | null;

  /** First reply time as the vendor measured it (calendar minutes), when given. */
  @Column({ name: 'first_response_minutes', type: 'double precision', nullable: true })
  firstResponseMinutes!: number | null;

  /** First reply time in business minutes, when the vendor gives it. */
  @Column({ name: 'first_response_business_minutes', type: 'double precision', nullable: true })
  firstResponseBusinessMinutes!: number | null;

  @Column({ name: 'solved_at', type: 'timestamptz', nullable: true })
  solvedAt!: Date | null;

  @Column({ name: 'csat_score', type: 'smallint', nullable: true })
  csatScore!: number | null;

  @Column({ name: 'csat_scale', type: 'text', nullable: true })
  csatScale!: CsatScale | null;

  @Column({ name: 'csat_comment', type: 'text', nullable: true })
  csatComment!: string | null;

  @Column({ name: 'inserted_at', type: 'timestamptz', default: () => 'now()' })
  insertedAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
