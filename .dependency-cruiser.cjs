/**
 * The layering of shared/DESIGN.md as build-breaking rules: dependencies point inward.
 *   cli, http  ->  runtime (composition root)  ->  hospital, fhir, security  ->  store
 *   web (the browser app)  ->  the public HTTP API only, plus the pure modules it shares with the
 *                              server (hospital/ids, hospital/registration/rules.ts)
 * A wrong-way import fails `npm run lint:deps` and therefore CI.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'store-knows-nothing-above-it',
      comment: 'store/ is the bottom layer; it may use only the plain resource types of fhir/types.ts',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(http|cli|runtime|security|hospital|resilience|fhir/(?!types\\.ts$))' },
    },
    {
      name: 'fhir-does-not-know-transport',
      comment: 'the operation layer is reached from HTTP and CLI alike and must not depend on either',
      severity: 'error',
      from: { path: '^src/fhir/' },
      to: { path: '^src/(http|cli|runtime|hospital|resilience)/' },
    },
    {
      name: 'fhir-uses-security-through-ports',
      comment: 'fhir/ declares the AccessPolicy and AuditSink ports (fhir/guard.ts); security/ implements them',
      severity: 'error',
      from: { path: '^src/fhir/' },
      to: { path: '^src/security/' },
    },
    {
      name: 'security-is-not-transport',
      severity: 'error',
      from: { path: '^src/security/' },
      to: { path: '^src/(http|cli|runtime|hospital)/' },
    },
    {
      name: 'hospital-goes-through-fhir',
      comment: 'hospital workflows speak FHIR; they never touch the store or transports',
      severity: 'error',
      from: { path: '^src/hospital/' },
      to: { path: '^src/(store|http|cli|runtime)/' },
    },
    {
      name: 'http-does-not-touch-the-store',
      comment: 'one door: HTTP reaches data only through the FHIR operation layer',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(store|cli)/' },
    },
    {
      name: 'only-the-adapter-imports-drivers',
      comment: 'one SQL code path: only the adapters (store/postgres.ts, store/pglite-worker.ts) talk to a driver',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/(postgres|pglite-worker)\\.ts$' },
      to: { path: 'node_modules/(pg|@electric-sql/pglite)/' },
    },
    {
      name: 'cli-is-a-leaf',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'web-talks-only-to-the-api',
      comment:
        'the web app reaches the server only through its public HTTP API; from src/ it may import only the pure modules shared with the server',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', pathNot: '^src/hospital/(ids/[^/]+\\.ts|registration/rules\\.ts)$' },
    },
    {
      name: 'web-runs-in-the-browser',
      comment: 'the app is bundled for browsers: no Node built-ins (its Vite config, web/vite.config.ts, runs in Node)',
      severity: 'error',
      from: { path: '^web/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shared-with-web-stays-pure',
      comment: 'what the browser shares with the server imports nothing (no Node built-ins, no packages) but its own kind',
      severity: 'error',
      from: { path: '^src/hospital/(ids/|registration/rules\\.ts$)' },
      to: { pathNot: '^src/hospital/(ids/[^/]+\\.ts|registration/rules\\.ts)$' },
    },
    {
      name: 'nothing-imports-the-web-app',
      comment: 'the web app is a client of the server, never a part of it',
      severity: 'error',
      from: { path: '^(src|bench)/' },
      to: { path: '^web/' },
    },
    {
      name: 'no-dev-deps-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], pathNot: 'node_modules/@medplum/fhirtypes/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
