/**
 * `make build`: bundles the product entry points into dist/cli/ with esbuild.
 *
 * Why a bundle and not tsc's file-per-module output: loading the node mode from ~170
 * compiled files plus their node_modules (fastify, viem, ioredis, zod, pino, prom-client,
 * @noble/*) took ~800 ms of a ~1.3 s restart, nearly all of it resolving, reading and
 * compiling a few thousand files; the same code as a handful of chunks loads in about a
 * third of that (bench/protocol measures both, see docs/performance.md). Type checking is
 * `make lint` (tsc --noEmit); this step only emits.
 *
 * Layout: every output is flat in dist/cli/ (entries by name, shared chunks as
 * chunk-<hash>.js), so `new URL('./<entry>.js', import.meta.url)` resolves to the same
 * file from whichever chunk the calling code lands in (a worker_threads entry, for one).
 * Modes stay lazily loaded: kms-server imports the controller mode (and
 * @kubernetes/client-node, kept external) only in controller mode. The node mode is also
 * emitted whole as dist/cli/nodeStart.cjs, which kms-server loads through a V8 code cache
 * (src/app/loadNodeStart.ts). Source maps sit next to every file; run with
 * NODE_OPTIONS=--enable-source-maps for source stack traces.
 *
 *   node_modules/.bin/tsx scripts/build.ts          (what `make build` runs)
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(ROOT, 'dist', 'cli');

/**
 * Output name → source. kms-server and kms-client are the published bins; nodeMode is
 * also the chunk kms-server loads for the node mode (bench/protocol loads it alone to
 * measure module loading); worker_threads entries are listed here too.
 */
const ENTRIES: Readonly<Record<string, string>> = {
  'kms-server': 'src/cli/kms-server.ts',
  'kms-client': 'src/cli/kms-client.ts',
  nodeMode: 'src/app/nodeMode.ts',
  // The crypto pool's thread: spawnWorker.ts starts new URL('./cryptoWorker.js', import.meta.url).
  cryptoWorker: 'src/node/workers/cryptoWorker.ts',
};

/** Loaded at run time from node_modules: only the controller mode needs it, and it is large. */
const EXTERNAL = ['@kubernetes/client-node'];

/**
 * Sources allowed to use import.meta.url in the bundle. In a bundle it is the URL of the
 * output chunk, not of the source file, so a path relative to it is only right when it
 * names another output in dist/cli/ (or the module itself, for a main-module check).
 */
const IMPORT_META_ALLOWED = new Set([
  'src/app/loadNodeStart.ts', 'src/cli/isMainModule.ts', 'src/cli/kms-client.ts', 'src/config/configTable.ts', 'src/node/workers/spawnWorker.ts',
]);

/**
 * The node mode once more as one CommonJS file (no chunks: a script V8 can cache whole),
 * which kms-server loads with a code cache (src/app/loadNodeStart.ts).
 * import.meta.url becomes the file's own URL, so the paths it names resolve in dist/cli/
 * as they do from the chunks.
 */
const NODE_START_CJS = { in: 'src/app/nodeStart.ts', out: 'nodeStart' };
const IMPORT_META_URL_CJS = "const __kmsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

/**
 * CommonJS packages inside an ESM bundle still call require() for Node built-ins; an ESM
 * file has no `require`, so each output defines one for its own location.
 */
const REQUIRE_SHIM = "import { createRequire as __kmsCreateRequire } from 'node:module'; const require = __kmsCreateRequire(import.meta.url);";

function usesImportMeta(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs)
    .filter((input) => input.startsWith('src/') && !IMPORT_META_ALLOWED.has(input))
    .filter((input) => readFileSync(join(ROOT, input), 'utf8').includes('import.meta.url'));
}

async function main(): Promise<void> {
  for (const source of Object.values(ENTRIES)) {
    if (!existsSync(join(ROOT, source))) throw new Error(`build: entry ${source} does not exist`);
  }
  // A stale file-per-module build (or an older bundle's chunks) must not linger next to the new one.
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  const common = {
    absWorkingDir: ROOT,
    outdir: OUT_DIR,
    entryNames: '[name]',
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    external: EXTERNAL,
    // Error classes take their `name` from the class (src/errors.ts): bundling must not rename them.
    keepNames: true,
    // Less to read, hash and parse at every start; names stay as written, so stack traces
    // read as they do in the sources (and map back to them with --enable-source-maps). It
    // also drops the comments esbuild keeps, whose few non-ASCII characters made Node.js
    // hold every file as a two-byte string (and decode it as UTF-8, 3x slower).
    minifyWhitespace: true,
    minifySyntax: true,
    // Packages' license comments go to <file>.LEGAL.txt next to each file, named at its end.
    legalComments: 'linked',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  } as const;
  const result = await build({
    ...common,
    entryPoints: Object.entries(ENTRIES).map(([out, source]) => ({ in: source, out })),
    chunkNames: 'chunk-[hash]',
    splitting: true,
    format: 'esm',
    banner: { js: REQUIRE_SHIM },
  });
  const script = await build({
    ...common,
    entryPoints: [NODE_START_CJS],
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    define: { 'import.meta.url': '__kmsImportMetaUrl' },
    banner: { js: IMPORT_META_URL_CJS },
  });
  const misplaced = [...new Set([...usesImportMeta(result.metafile), ...usesImportMeta(script.metafile)])];
  if (misplaced.length > 0) {
    throw new Error(`build: ${misplaced.join(', ')} use import.meta.url, which in the bundle is the chunk's URL, not the source file's: `
      + 'resolve the path another way, or list the file in IMPORT_META_ALLOWED in scripts/build.ts if it only names outputs in dist/cli/');
  }
  const outputs = [...Object.entries(result.metafile.outputs), ...Object.entries(script.metafile.outputs)].filter(([path]) => /\.c?js$/.test(path));
  const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
  process.stdout.write(`build: ${outputs.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${relative(ROOT, OUT_DIR)}/\n`);
}

await main();
