/**
 * The direction of imports, checked in CI (`npm run lint`). The gateway's folders are layers, top
 * to bottom; a module may import its own layer and the layers below it, never one above, not even
 * for a type (a type two layers share lives in the lower one). Around the gateway: the pipeline's
 * parts use the gateway, never the other way round, and workflows reach activities only as types.
 */
const LAYERS = [
  ['composition', '^gateway/((cli|gateway|core)\\.ts$|reload/)'],
  ['fronts', '^gateway/fronts/'],
  ['admin', '^gateway/admin/'],
  ['discovery', '^gateway/discovery/'],
  ['session', '^gateway/session/'],
  ['relay', '^gateway/relay/'],
  ['catalog', '^gateway/catalog/'],
  ['auth', '^gateway/auth/'],
  ['metrics', '^gateway/metrics/'],
  ['tracing', '^gateway/tracing/'],
  ['servers', '^gateway/servers/'],
  ['upstream', '^gateway/upstream/'],
  ['http', '^gateway/http/'],
  ['store', '^gateway/store/'],
  ['config', '^gateway/config/'],
  ['protocol', '^gateway/(protocol/|log\\.ts$|termination\\.ts$|output-tap\\.ts$|version\\.ts$)'],
];

const layerRules = LAYERS.slice(1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} is below ${LAYERS.slice(0, i + 1)
    .map(([n]) => n)
    .join(', ')}: it must not import them`,
  severity: 'error',
  from: { path, pathNot: '\\.test\\.ts$' },
  to: {
    path: LAYERS.slice(0, i + 1)
      .map(([, p]) => p)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'a cycle hides which module is the lower one',
      severity: 'error',
      from: { path: '^(gateway|activities|pipeline|workflows)/' },
      to: { circular: true },
    },
    {
      name: 'gateway-stands-alone',
      comment: 'the gateway runtime uses nothing of the pipeline, the tests, the benchmarks or its own client kit',
      severity: 'error',
      from: { path: '^gateway/', pathNot: ['\\.test\\.ts$', '^gateway/client/'] },
      to: { path: '^(activities|pipeline|workflows|test|bench)/|^gateway/client/' },
    },
    {
      name: 'workflows-deterministic',
      comment: 'workflow code runs in the Temporal sandbox: activities only as types, no Node built-ins',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-no-node',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'production-not-on-tests',
      comment: 'production code never imports tests or benchmarks',
      severity: 'error',
      from: { path: '^(activities|pipeline|workflows)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|docker/servers)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
