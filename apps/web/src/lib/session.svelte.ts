import { page } from '$app/state';
import type { Permission, Session } from '@retain/contracts';

/** The signed-in session the layout loaded (null on the sign-in page). */
export function currentSession(): Session | null {
  return (page.data as { session?: Session | null }).session ?? null;
}

/**
 * Whether the signed-in role may do something. The dashboard hides what a role may not use; the
 * API refuses it anyway (403), so this is about clutter, not protection.
 */
export function can(permission: Permission): boolean {
  return currentSession()?.permissions.includes(permission) ?? false;
}
