import type { Channel, CsatScale } from '../tickets/ticket.entity.js';

/**
 * What the importers hand to the repositories, whatever the input format (CSV, JSON, NDJSON,
 * Zendesk). A field that is `undefined` was not in the input and leaves the stored value alone;
 * `null` means the input had the field and it was empty.
 */

export interface AccountRecord {
  externalId: string;
  name: string;
  plan?: string | null;
  mrr?: number | null;
  seats?: number | null;
  employees?: number | null;
  region?: string | null;
  owner?: string | null;
  createdAt?: Date | null;
  churnedAt?: Date | null;
  /** YYYY-MM-DD */
  renewalDate?: string | null;
  /** Every other column: numbers kept as numbers, booleans as booleans, empty cells left out. */
  traits: Record<string, unknown>;
}

export interface ContactRecord {
  externalId: string;
  accountExternalId?: string | null;
  email?: string | null;
  name?: string | null;
  traits: Record<string, unknown>;
}

export interface TicketRecord {
  externalId: string;
  accountExternalId?: string | null;
  contactExternalId?: string | null;
  channel: Channel;
  /** The channel as the source named it (Zendesk's via.channel, a CSV's own word), when it differs. */
  channelDetail?: string | null;
  subject?: string | null;
  priority?: string | null;
  /** Absent: a new ticket is 'solved' when it has solved_at, else 'open'; a stored one keeps its status. */
  status?: string;
  tags?: string[];
  createdAt: Date;
  firstResponseAt?: Date | null;
  /** Calendar minutes to the first agent reply: the vendor's figure when given, else derived. */
  firstResponseMinutes?: number | null;
  firstResponseBusinessMinutes?: number | null;
  solvedAt?: Date | null;
  csatScore?: number | null;
  csatScale?: CsatScale | null;
  csatComment?: string | null;
  csatRatedAt?: Date | null;
}

/**
 * A later fact about a ticket (Zendesk ticket_metrics or satisfaction_ratings). Applied to the
 * ticket when it exists; kept until the ticket arrives otherwise; never creates a ticket.
 */
export interface TicketUpdate {
  externalId: string;
  firstResponseMinutes?: number | null;
  firstResponseBusinessMinutes?: number | null;
  solvedAt?: Date | null;
  csatScore?: number | null;
  csatScale?: CsatScale | null;
  csatComment?: string | null;
  csatRatedAt?: Date | null;
}

/** Why one row or item was refused. `line` is the 1-based line in the file, when there is a file. */
export interface RowError {
  index: number;
  line?: number;
  externalId?: string | null;
  code: string;
  message: string;
}

export type RowResult<T> = { ok: true; value: T } | { ok: false; error: Omit<RowError, 'index' | 'line'> };
