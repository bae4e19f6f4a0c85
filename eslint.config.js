// Type-aware linting. The core boundary rule keeps src/core portable: it may import only
// @noble/*, @hpke/* (RFC 9180 HPKE for messages) and itself, and may not lean on Node globals, so it runs in the extension host,
// the CLI, tests and the web alike.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-results/**', 'media/**', '*.vsix'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(?!@noble/|@hpke/(?:core|dhkem-x25519|chacha20poly1305)$|\\./|\\.\\./core/)',
          message: 'src/core may import only @noble/*, @hpke/* and its own modules, so it runs everywhere.',
        }],
      }],
      'no-restricted-globals': ['error',
        { name: 'Buffer', message: 'src/core is platform-neutral: use Uint8Array and ./bytes.' },
        { name: 'process', message: 'src/core is platform-neutral: take what you need through a port.' },
        { name: 'require', message: 'src/core is ESM only.' },
        { name: 'setTimeout', message: 'src/core takes time through the Clock port.' },
        { name: 'fetch', message: 'src/core reaches the relay through the RelayPort.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // node:test's describe/it return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false }, globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
);
