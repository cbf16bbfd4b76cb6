// ESLint guards what the compiler cannot: workflow determinism and floating promises.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** Workflow code runs in Temporal's deterministic sandbox and is replayed: no I/O of any kind. */
const workflowForbiddenImports = {
  paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
    .filter((m) => m !== 'assert' && m !== 'node:assert')
    .map((name) => ({ name, message: 'Node built-ins are not deterministic; keep them out of workflow code.' })),
  patterns: [
    {
      group: ['ioredis', 'ethers', 'pino', '@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'],
      message: 'I/O libraries and non-workflow Temporal packages belong in activities, not workflow code.',
    },
    {
      group: ['**/activities', '**/activities/*', '**/chain/*', '**/config', '**/config.js', '**/logger', '**/logger.js'],
      allowTypeImports: true,
      message: 'Workflows may import activity code only as types (import type).',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.seqflow/', 'dist/', 'test/histories/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // src/tracing/workflow/ is bundled into the workflow sandbox (the worker's workflow interceptors).
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts', 'src/tracing/workflow/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowForbiddenImports] },
  },
);
