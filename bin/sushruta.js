#!/usr/bin/env node
// Runs the compiled CLI (npm run build). During development: npx tsx src/cli/entry.ts
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/entry.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('sushruta: not built yet; run `npm run build` (or `npm install`, which builds)\n');
  process.exit(2);
}
await import(entry);
