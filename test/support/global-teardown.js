export default async function globalTeardown() {
  await globalThis.__retainTestPostgres?.stop();
}
