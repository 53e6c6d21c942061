import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** A static single-page app: the API serves build/ and answers client routes with index.html. */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // The page's Content-Security-Policy, as a <meta> tag with the hash of SvelteKit's own inline
    // start-up script: nothing loads from anywhere but the server. Styles allow inline attributes
    // (Svelte's style: directives, Chart.js sizing its canvas). The API adds what a <meta> tag
    // cannot carry (frame-ancestors) as a header.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'font-src': ['self'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
  },
};

export default config;
