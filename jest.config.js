/** Jest runs the TypeScript sources through swc in CommonJS mode; `npm test` type-checks via the build first. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/gateway', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    // jose and cockatiel ship ES modules only; Node requires them natively, jest's module registry needs them as CommonJS
    '/node_modules/(jose|cockatiel)/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
    // the OTLP exporter loads node:http with import(), which jest's CommonJS runtime refuses without
    // --experimental-vm-modules: compiled to require() for the tests (Node runs it as it is)
    '/node_modules/@opentelemetry/otlp-exporter-base/.+\\.cjs$': [
      '@swc/jest',
      { jsc: { target: 'es2023', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|cockatiel|@opentelemetry/otlp-exporter-base)/)'],
  testTimeout: 60000,
  // Integration tests spawn real servers; two cores cannot run many files at once.
  maxWorkers: 2,
};
