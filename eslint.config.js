// ESLint (flat config) with typescript-eslint's type-aware rules: the ones that catch what bites a long-running
// bot (a promise nobody awaits, a misused async callback), run over everything the type check covers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/.build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `void promise` is how this code says "fire and forget, errors handled inside".
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // TypeScript itself reports undefined names, with the types ESLint lacks.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
