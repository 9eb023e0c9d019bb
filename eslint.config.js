import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layer boundaries (docs/ARCHITECTURE.md, "Layers"). Rule options do not merge across config blocks,
// so each block below lists every restriction its files keep; test/lint/boundaries.test.ts checks
// that a crossing import still fails.
const DRIVERS_AND_DIALECTS = [
  {
    regex: '^(better-sqlite3|pg)(/.*)?$',
    message: 'Database drivers are used only inside src/store/.',
  },
  {
    regex: '(^|/)store/(sqlite|postgres)(/|$)',
    message: 'A store dialect is imported only inside src/store/ (open one with store/open.ts).',
  },
];
const NOT_WORKER = {
  regex: '(^|/)worker/',
  message: 'The worker depends on this layer, not the other way round; shared loops live in src/runtime/.',
};
const restrictImports = (patterns) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
});
const boundaries = [
  {
    files: ['src/**/*.ts'],
    ignores: ['src/store/**'],
    rules: restrictImports(DRIVERS_AND_DIALECTS),
  },
  {
    files: ['src/store/**/*.ts'],
    rules: restrictImports([
      {
        regex: '^(\\.\\./)+(scheduler|worker|api|cli)/',
        message:
          'The store serves the engine; the types it shares with it live in src/ (e.g. schedule-types.ts).',
      },
    ]),
  },
  {
    files: ['src/maintenance/**/*.ts', 'src/scheduler/**/*.ts'],
    rules: restrictImports([...DRIVERS_AND_DIALECTS, NOT_WORKER]),
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: restrictImports([
      ...DRIVERS_AND_DIALECTS,
      {
        regex: '(^|/)(worker|scheduler|maintenance)/',
        message: 'src/runtime/ is shared by the services, so it imports none of them.',
      },
    ]),
  },
  {
    files: ['src/enqueue.ts'],
    rules: restrictImports([
      ...DRIVERS_AND_DIALECTS,
      {
        regex: '^\\./store/(?!store\\.js$)',
        message: 'enqueue.ts builds jobs against the Store contract (store/store.ts) only.',
      },
    ]),
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '**/node_modules/**',
      'coverage/**',
      '.test-build/**',
      '**/*.js',
      '!eslint.config.js',
      // bench/ imports the peer systems it compares with, which only `npm run bench` installs (into
      // bench/node_modules, so a plain `npm ci` never needs them); `npm run bench` type-checks it.
      'bench/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...boundaries,
  {
    // Build scripts in plain JavaScript belong to no tsconfig, so type-aware rules cannot run on them.
    files: ['eslint.config.js', 'scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
