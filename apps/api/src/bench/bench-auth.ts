/** How the benchmarks call their own server: an API token for /api, a source's write key for /v1. */

/** The headers of a request made with an API token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The headers of an ingest request made with a source's write key, as the Segment SDKs send it. */
export const writeKeyAuth = (writeKey: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
});

/** A source and its write key, created through the API as a user would. */
export async function createSource(
  baseUrl: string,
  token: string,
  name: string,
): Promise<{ id: number; writeKey: string }> {
  const res = await fetch(`${baseUrl}/api/sources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ name }),
  });
  const body = (await res.json()) as { id?: unknown; writeKey?: unknown };
  if (res.status !== 201 || typeof body.writeKey !== 'string' || typeof body.id !== 'number')
    throw new Error(`POST /api/sources answered ${res.status}: ${JSON.stringify(body)}`);
  return { id: body.id, writeKey: body.writeKey };
}
