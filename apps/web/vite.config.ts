import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// In development the dashboard runs on Vite's server and reaches the API on its own port.
const api = `http://localhost:${process.env.PORT ?? 3000}`;

export default defineConfig({
  plugins: [sveltekit()],
  server: { proxy: { '/api': api, '/v1': api } },
});
