/**
 * Builds the web app into dist/web, which `sushruta serve` serves at `/` (src/http/web.ts).
 * `npm run build` runs it after the server's tsc; `npm run dev:web` serves it with hot reload and
 * passes the API paths to a server on 127.0.0.1:8080.
 *
 * The output suits the server's Content-Security-Policy: no inline scripts or styles (the module
 * preload polyfill is off: every browser the app supports has modulepreload) and no data: URLs.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/fhir', '/auth', '/admin', '/hospital', '/oauth2'].map((p) => [p, api])),
  },
});
