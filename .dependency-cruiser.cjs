/**
 * The boundaries of src/ (issue 14 point 5; docs/architecture.md explains them). `npm run lint:deps`
 * fails on any of:
 *   - a cycle, type-only imports included (a 9-file type cycle in analysis is why);
 *   - a deep import across stages: a stage is a top folder of src/, and another stage may import
 *     only its index.ts, which is its public API;
 *   - an import that runs back up the layers below.
 *
 * LAYERS, lowest first. A stage may import its own files, src/errors.ts, and the index.ts of a
 * stage in a LOWER layer; stages sharing a layer are siblings and import neither each other nor
 * anything above. The order is what the code imports today (`npx depcruise src --output-type
 * archi`) with the back edges cut, read against the flow load -> analyse -> plan -> execute -> report:
 *   - log, config: every stage reads settings and logs; they know nothing of databases.
 *   - db: knex / driver plumbing; engines: what differs per database, built on db.
 *   - topology: the cluster (nodes, roles, GTID positions) seen through an engine's flavor.
 *   - sandbox (starts real servers, the shadow server included) and load (a workload generator for
 *     benches and tests) only need the layers under them.
 *   - migrations: finding, loading, splitting and running migration files, the ledger. This is the
 *     flow's "load" and the per-database `migrate up`.
 *   - analysis: analyse a migration against a shadow database and judge it (rules, verdict, plan
 *     data); it reads migrations and finds the shadow server through sandbox.
 *   - report renders check/plan results; execution applies a plan to a cluster (replica-first,
 *     switchover). Both consume analysis and neither needs the other.
 *   - cli wires everything.
 */
// biome-ignore format: one layer a line reads as the diagram of the layers
const LAYERS = [
  ['log'],
  ['config'],
  ['db'],
  ['engines'],
  ['topology'],
  ['sandbox', 'load'],
  ['migrations'],
  ['analysis'],
  ['report', 'execution'],
  ['cli'],
];

const STAGES = LAYERS.flat();

/** A rule per stage, so a violation names the stage it starts in. */
const upwardRules = LAYERS.flatMap((layer, i) =>
  layer.map((stage) => {
    const notBelow = STAGES.filter((s) => s !== stage && LAYERS.findIndex((l) => l.includes(s)) >= i);
    return {
      name: `no-upward-import-from-${stage}`,
      comment: `${stage} may import only stages in lower layers (${STAGES.slice(0, STAGES.indexOf(layer[0])).join(', ') || 'none'}); see LAYERS in .dependency-cruiser.cjs.`,
      severity: 'error',
      from: { path: `^src/${stage}/` },
      to: { path: `^src/(${notBelow.join('|')})/` },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle, type-only imports included: split out the shared part or invert the dependency.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-deep-import-across-stages',
      comment: "Another stage's files are reachable only through its index.ts (the stage's public API): export what you need there.",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'errors-is-a-leaf',
      comment: 'src/errors.ts is shared by every stage, so it imports none of them.',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'no-unknown-stage',
      comment: 'A new top folder of src/ needs a place in LAYERS (and docs/architecture.md) before code uses it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/[^/]+/', pathNot: `^src/(${STAGES.join('|')})/` },
    },
    ...upwardRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    // Type-only imports are dependencies too: they make cycles and cross boundaries like any other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: {
      archi: { collapsePattern: '^src/[^/]+' },
      text: { highlightFocused: true },
    },
  },
};
