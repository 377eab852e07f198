import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { apiDocs } from './scripts/apiDocsPlugin.ts';

// The built files are embedded in the mladmin binary (see cmake/web.cmake), which serves them at
// `/` with a strict Content-Security-Policy: no inline scripts or styles, so nothing here may
// inject any. `npm run dev` (and `vite preview`) proxy the API to a server started with `mladmin serve`
// on MLADMIN_API (default http://127.0.0.1:8080).
export default defineConfig({
  plugins: [react(), apiDocs(import.meta.dirname)],
  build: {
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': process.env.MLADMIN_API ?? 'http://127.0.0.1:8080' },
  },
  preview: {
    proxy: { '/api': process.env.MLADMIN_API ?? 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
