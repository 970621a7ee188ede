// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.relguard/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    // Workflow code is replayed: it must stay deterministic, so it may import only the
    // workflow SDK, domain/ and activity *types*, and never a Node built-in or I/O library.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'Workflow code must not use Node built-ins.' },
            {
              regex:
                '^(fs|path|os|crypto|child_process|http|https|net|dns|url|util|events|stream|timers)(/.*)?$',
              message: 'Workflow code must not use Node built-ins.',
            },
            {
              regex: '^@temporalio/(client|worker|activity|testing)$',
              message: 'Workflow code may use @temporalio/workflow and @temporalio/common only.',
            },
            { regex: '^(mongodb|pino|hono)', message: 'Workflow code must not do I/O.' },
            {
              regex: '/activities(/|$)',
              allowTypeImports: true,
              message: 'Workflows import activity types only, through proxyActivities.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code must not read the process.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
      ],
    },
  },
  {
    // See domain/zod.ts: a schema made from a zod that is not yet extended has no .openapi().
    files: ['domain/**/*.ts'],
    ignores: ['domain/zod.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'zod', message: "Import z from './zod' in domain/." }] },
      ],
    },
  },
  {
    // The console runs in the browser: no Node built-ins, and domain/ for its types only
    // (a value import would bundle zod and the schemas into the page), except
    // domain/fleet-health.ts, domain/release-timeline.ts and domain/alert-deliveries.ts, which
    // are pure and import types alone.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'The console runs in the browser.' },
            {
              regex: '/domain(/(?!(fleet-health|release-timeline|alert-deliveries)$)|$)',
              allowTypeImports: true,
              message:
                'The console imports domain/ types only (and domain/fleet-health, domain/release-timeline, domain/alert-deliveries).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
