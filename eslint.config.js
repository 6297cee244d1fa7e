// ESLint (flat config): typescript-eslint's recommended rules, and the module boundaries of the house style
// (STYLE.md §2, docs/layout.md, CONTRIBUTING.md): the product (src/) never imports the developer tools
// (tools/), a folder is imported through its index.ts, cascade and stream never import each other, and only the
// commands (src/cli) sit above the application layer (src/app) that composes the feature folders.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `../x/y.js` where y is not index: another folder's inner file (top-level src/*.ts files are allowed). */
const INNER_FILE = String.raw`^(?:\.\./)+(?!src/[a-z-]+\.js$)(?:src/)?[a-z-]+/(?!index\.js$)[^/]+\.js$`;
const innerFile = { regex: INNER_FILE, message: 'import another folder through its index.js, never its inner files' };
const intoTools = { regex: String.raw`(?:^|/)tools/`, message: 'the product (src/) never imports the developer tools (tools/)' };
const dynamicIntoTools = {
  selector: String.raw`ImportExpression[source.value=/(^|\/)tools\//]`,
  message: 'the product (src/) never imports the developer tools (tools/)',
};
/** The rule for files of `folder` (under src/) that must not import the `banned` sibling folders. */
const notInto = (banned, typesOnly = []) => [
  ...banned.map((folder) => ({ regex: String.raw`^(?:\.\./)+${folder}/`, message: `this folder does not depend on ${folder}/ (STYLE.md §2)` })),
  ...typesOnly.map((folder) => ({
    regex: String.raw`^(?:\.\./)+${folder}/`,
    allowTypeImports: true,
    message: `this folder uses only the types of ${folder}/ (STYLE.md §2)`,
  })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.kafka/**', 'coverage/**', 'models/**', 'src/monitor/dashboard/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        NodeJS: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A getter in an object literal needs the instance under another name.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      // `let x; const f = () => x; x = …` is the way to close over a value made later.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile] }],
      'no-restricted-syntax': ['error', dynamicIntoTools],
    },
  },
  {
    files: ['src/cascade/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile, ...notInto(['stream', 'cli', 'app', 'monitor'], ['cache'])] }],
    },
  },
  {
    files: ['src/stream/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile, ...notInto(['cascade', 'cli', 'app', 'llm', 'cache'])] }],
    },
  },
  {
    files: ['src/llm/**/*.ts', 'src/cache/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile, ...notInto(['cascade', 'stream', 'cli', 'app'])] }] },
  },
  {
    files: ['src/monitor/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [intoTools, innerFile, ...notInto(['cascade', 'stream', 'cli', 'app', 'llm', 'cache'])] },
      ],
    },
  },
  {
    // The application layer composes the feature folders; the commands (cli) sit above it, never below.
    files: ['src/app/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile, ...notInto(['cli'])] }] },
  },
  {
    // Quality targets stand on the statistics alone: the cascade consults them, not the other way round.
    files: ['src/quality/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [intoTools, innerFile, ...notInto(['cascade', 'stream', 'monitor', 'cli', 'app', 'llm', 'cache'])] },
      ],
    },
  },
  {
    files: ['src/demo/**/*.ts', 'src/text/**/*.ts', 'src/stats/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [intoTools, innerFile, ...notInto(['cli', 'app'])] }] },
  },
  {
    files: ['tools/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [innerFile, { regex: String.raw`(?:^|/)test/`, message: 'tools never import test/ helpers: shared helpers live in tools/harness' }] },
      ],
    },
  },
);
