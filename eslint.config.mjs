// ESLint, type-aware (typescript-eslint with the project's tsconfig): no floating promises anywhere,
// no `any` in production code, and no Node built-ins in Temporal workflow code, which runs in a
// deterministic sandbox. Formatting is prettier's job (.prettierrc), layering dependency-cruiser's
// (.dependency-cruiser.cjs).
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.docker-stage/', '.state/', '.cache/', 'docker/servers/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The relay forwards raw JSON: values are `unknown` and narrowed where used, which these rules cannot follow.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },
  {
    // Tests poke at raw messages of every shape; `any` is how they read them.
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // An exposed tool or prompt name is the gateway's to make (prefix, nameSeparator, spec-safe
    // mapping, collisions): the code around it takes the names the admin API lists, never `${server}__`.
    files: ['activities/**/*.ts', 'bench/**/*.ts', 'pipeline/**/*.ts', 'workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TemplateLiteral > TemplateElement[value.raw=/^__/]',
          message: "an exposed name is the gateway's (GET /admin/servers lists them, protocol/names.ts makes them): do not join a server name and __",
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'workflow code runs in the Temporal sandbox: do I/O in an activity' })),
          patterns: [{ group: ['node:*'], message: 'workflow code runs in the Temporal sandbox: do I/O in an activity' }],
        },
      ],
    },
  },
);
