import pg from 'pg';
import type { Role } from '@retain/contracts';
import { newSecret, sha256 } from '../../apps/api/src/auth/secrets.js';
import { TOKEN_PREFIX } from '../../apps/api/src/auth/auth.service.js';

/**
 * An API token of `role` in a migrated Retain database, made as `token:create` makes one (a
 * random secret stored as its SHA-256), without starting the CLI for every suite.
 */
export async function createApiToken(
  databaseUrl: string,
  role: Role = 'admin',
  ownerEmail: string | null = null,
): Promise<string> {
  const token = newSecret(TOKEN_PREFIX);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO api_tokens (name, role, token_hash, prefix, owner_email, created_by)
       VALUES ($1, $2, $3, $4, $5, 'test')`,
      [`test ${role}`, role, sha256(token), token.slice(0, 8), ownerEmail],
    );
  } finally {
    await client.end();
  }
  return token;
}

/** `fetch` that sends `Authorization: Bearer TOKEN` unless the call sets its own Authorization. */
export function withToken(token: string): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

/** A fetch for a fresh admin token on the database a test server runs on. */
export async function adminFetch(databaseUrl: string, role: Role = 'admin'): Promise<typeof fetch> {
  return withToken(await createApiToken(databaseUrl, role));
}
