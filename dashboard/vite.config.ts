/**
 * Builds the dashboard into dist/dashboard, which the API server serves at `/` (src/api/dashboard.ts).
 * Preact through the JSX transform Vite already has: no framework plugin, no Babel.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Nothing to copy verbatim: every asset is imported and so content-hashed under /assets.
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The server knows the asset names from index.html; a manifest would be unread.
    manifest: false,
    reportCompressedSize: true,
  },
});
