// Jest runs TypeScript ESM through ts-jest's ESM preset. Node needs
// --experimental-vm-modules (set by the Makefile) because @noble/curves 2.x and
// @kubernetes/client-node 1.x ship ESM only. tsconfig's isolatedModules makes ts-jest
// transpile only: type checking is `make lint`'s job, so test runs stay fast.
const tsJest = [
  'ts-jest',
  { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': tsJest },
  // Source imports use the ".js" suffix NodeNext requires; map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

// `--selectProjects` takes several values, so `jest --selectProjects unit src/crypto`
// would read "src/crypto" as a project name and run everything. Treat path-like values
// there as path filters instead, which is what such a command means.
const selectAt = process.argv.indexOf('--selectProjects');
const pathFilters = [];
if (selectAt >= 0) {
  for (const arg of process.argv.slice(selectAt + 1)) {
    if (arg.startsWith('-')) break;
    if (arg.includes('/') || arg.includes('.')) pathFilters.push(arg.replace(/\/$/, ''));
  }
}

function project(displayName, root) {
  const own = pathFilters.filter((p) => p.startsWith(root) || root.startsWith(`${p}/`));
  const testMatch =
    pathFilters.length === 0 || own.length === 0
      ? [`<rootDir>/${root}/**/*.test.ts`]
      : own.flatMap((p) => [`<rootDir>/${p}`, `<rootDir>/${p}/**/*.test.ts`, `<rootDir>/${p}*.test.ts`, `<rootDir>/${p}*`]);
  const skip = pathFilters.length > 0 && own.length === 0;
  return { ...common, displayName, testMatch: skip ? ['<rootDir>/.no-tests-selected/**'] : testMatch };
}

/** @type {import('jest').Config} */
export default {
  projects: [project('unit', 'src'), project('integration', 'test/integration'), project('e2e', 'test/e2e')],
};
