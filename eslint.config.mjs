// ESLint: typescript-eslint's recommended rules over the TypeScript sources, tests, benchmarks,
// examples and scripts. Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'examples/*/rootfs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // A disable comment that has become unnecessary is harmless: not worth failing the build for.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `let { a, b } = …` where only some are reassigned stays one statement.
      'prefer-const': ['error', { destructuring: 'all' }],
      // `_`-prefixed names are deliberately unused (callback parameters kept for their position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The CommonJS launcher (bin/runt.cjs) loads the bundle with require().
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON the CLI printed; typing every document would add nothing.
      '@typescript-eslint/no-explicit-any': 'off',
      // Tests match what /proc shows, NUL separators included.
      'no-control-regex': 'off',
    },
  },
);
