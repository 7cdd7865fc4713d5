// Type-aware lint. The pure cores (crypto, protocol) may not import I/O: no
// network, filesystem, clock-owning or storage modules, so they stay deterministic.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:child_process',
  'node:dgram', 'node:dns', 'node:os', 'fs', 'net', 'http', 'https', 'child_process',
  'ioredis', 'ioredis-mock', 'fastify', 'pino', '@kubernetes/client-node',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-all/', 'coverage/', 'bench/results/', 'contracts/artifacts/', '.devnet/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      eqeqeq: 'error',
    },
  },
  {
    files: ['src/crypto/**/*.ts', 'src/protocol/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules, patterns: ['**/persistence/**', '**/node/**', '**/chain/**', '**/transport/**'] }],
      'no-restricted-globals': ['error', { name: 'Date', message: 'pure cores take time as a parameter' }, { name: 'fetch', message: 'pure cores do no I/O' }],
    },
  },
  {
    // Layering: the node does not know the controller (or the composition root that wires
    // the two); the controller reaches the node only through the NodeRuntime seam. src/app
    // is where they meet.
    files: ['src/node/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/controller/**', '**/controller', '**/app/**', '@kubernetes/client-node'], message: 'src/node imports nothing from src/controller or src/app; they use the node through src/node/runtime.ts' },
        ],
      }],
    },
  },
  {
    files: ['src/controller/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/app/**'], message: 'the controller does not import the composition root (src/app)' },
          { group: ['**/node/*', '!**/node/runtime.js'], message: 'the controller uses the node through src/node/runtime.ts only' },
        ],
      }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['scripts/**/*.mjs', '*.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
);
