/**
 * Load functions hand pages promises (each section of a page shows its own loading, empty and
 * error state). Marking a promise as handled here keeps a failed request from being reported as
 * an unhandled rejection before the page's section gets to show it.
 */
export function stream<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
