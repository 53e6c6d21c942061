import { AUDIT_ACTIONS, type AuditAction } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** ?action=login.failed narrows the audit log to one kind of action. */
export const load: PageLoad = ({ fetch, depends, url }) => {
  depends('api:users', 'api:tokens', 'api:audit');
  const client = createApiClient(fetch);
  const param = url.searchParams.get('action');
  const action = (AUDIT_ACTIONS as readonly string[]).includes(param ?? '')
    ? (param as AuditAction)
    : undefined;
  return {
    action,
    users: stream(client.users()),
    tokens: stream(client.apiTokens()),
    audit: stream(client.auditLog({ action, limit: 50 })),
  };
};
