import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const EVENT_TYPES = ['track', 'page', 'screen'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One product event. Append-only and the largest table by far: rows arrive by COPY or multi-row
 * insert, never one ORM save at a time. No foreign keys, so an event may arrive before the
 * account or contact it names; the raw userId and groupId are kept to resolve them later.
 */
@Entity({ name: 'events' })
export class EventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT' })
  id!: string;

  /** Segment messageId: unique, so an SDK's retry never counts twice. */
  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ name: 'source_id', type: 'integer', nullable: true })
  sourceId!: number | null;

  @Column({ name: 'account_id', type: 'bigint', nullable: true })
  accountId!: string | null;

  @Column({ name: 'contact_id', type: 'bigint', nullable: true })
  contactId!: string | null;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'group_id', type: 'text', nullable: true })
  groupId!: string | null;

  @Column({ name: 'anonymous_id', type: 'text', nullable: true })
  anonymousId!: string | null;

  @Column({ type: 'text' })
  type!: EventType;

  @Column({ type: 'text' })
  name!: string;

  /** When it happened, by the client's clock. */
  @Column({ type: 'timestamptz' })
  timestamp!: Date;

  /** When Retain stored it. */
  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  properties!: Record<string, unknown>;
}
