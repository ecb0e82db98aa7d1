import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'fixtures/**', 'backtest-out/**', '.bench-cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Import cycles are checked by dpdm in `npm run lint` (eslint-plugin-import-x pulls a native
    // resolver whose optional per-platform packages break `npm ci` with npm 11).
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // The pure core: no node I/O, no adapters, no oclif (STYLE.md "functional core").
    files: ['src/core/domain/**', 'src/core/engine/**', 'src/core/entries/**', 'src/core/ports/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', '**/adapters/**', '**/services/**', '@oclif/*', 'fs', 'path', 'os'] },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'the engine takes time from events',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'the engine takes time from events',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'the engine is deterministic',
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', 'bin/**', 'scripts/**', 'fixtures/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.js'],
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
  },
  {
    // CommonJS by necessity: bin/code-cache.cjs hooks require(), bin/dynamic-import.cjs must be compiled by Node.
    files: ['bin/**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
