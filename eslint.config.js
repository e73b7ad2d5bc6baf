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
      // discord.js users, members and channels turn into mentions in a template by design.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allow: [
            {
              from: 'package',
              package: 'discord.js',
              name: ['User', 'GuildMember', 'TextChannel', 'ThreadChannel', 'PublicThreadChannel', 'PrivateThreadChannel'],
            },
          ],
        },
      ],
      // A variable a callback reads before its one assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Prettier wraps code at 160 but not strings, template literals or comments, which then grow unseen; the bot's
    // own code is held to the same width. A URL or a regular expression cannot be split without harm. Tests and
    // benchmarks are left out: their fixtures are dialogue and tables kept as they are.
    files: ['src/**', 'commands/**'],
    rules: {
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // Tests read raw request bodies and Discord payloads as JSON: `any` there is the data's honest type.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // The fakes stringify JSON payload fields whose types they only know as `unknown`.
      '@typescript-eslint/no-base-to-string': 'off',
      // Test doubles implement async ports without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // An async listener's rejection in a test is an unhandled error, which vitest reports and fails the run on.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
