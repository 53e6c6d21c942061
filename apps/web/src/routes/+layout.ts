// The dashboard is a client-side app served by the API; it has no server of its own.
export const ssr = false;
export const prerender = false;
