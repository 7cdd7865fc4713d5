/**
 * Lints the Dockerfile (hadolint is not installable from the registries here): parses the
 * instructions and checks the image's properties: multi-stage, production dependencies only,
 * non-root, redis-server for the embedded mode, a HEALTHCHECK, and hadolint-style hygiene.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../e2e/harness/tools.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Joins continuation lines, drops comments and parser directives, splits into stages. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (pending === '' && /^\s*(#|$)/.test(raw)) continue;
    if (pending !== '' && /^\s*#/.test(raw)) continue;
    if (pending === '') startLine = i + 1;
    const continued = /\\\s*$/.test(raw);
    pending += (pending === '' ? '' : ' ') + raw.replace(/\\\s*$/, '').trim();
    if (continued) continue;
    const match = /^(\w+)\s+(.*)$/.exec(pending);
    pending = '';
    if (match === null) throw new Error(`line ${startLine}: not an instruction`);
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!, line: startLine };
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (from === null) throw new Error(`line ${startLine}: bad FROM`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
    } else {
      const stage = stages.at(-1);
      // ARGs before the first FROM parameterise FROM lines (read separately, see preludeArgs).
      if (stage === undefined && instruction.keyword === 'ARG') continue;
      if (stage === undefined) throw new Error(`line ${startLine}: ${instruction.keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
/** `ARG name=default` lines before the first FROM: the only ones a FROM line can use. */
const preludeArgs = new Map(
  [...dockerfile.split(/^FROM /m)[0]!.matchAll(/^ARG\s+(\w+)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!] as const),
);
const resolveArgs = (text: string): string => text.replace(/\$\{(\w+)\}/g, (_m, name: string) => preludeArgs.get(name) ?? '');
const final = stages.at(-1)!;
const all = stages.flatMap((s) => s.instructions);
const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

describe('Dockerfile', () => {
  test('is multi-stage with named build stages and pinned base images', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages.slice(0, -1)) expect(stage.name).toMatch(/^[a-z][a-z0-9-]*$/);
    for (const stage of stages) {
      const from = resolveArgs(stage.from);
      expect(from).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(from).not.toMatch(/:latest$/);
    }
  });

  test('the base is a build argument defaulting to the Node.js LTS that scripts/image pins', () => {
    const versions = readFileSync(path.join(ROOT, 'scripts/image/versions.env'), 'utf8');
    const nodeVersion = /^NODE_VERSION=(\S+)$/m.exec(versions)?.[1];
    expect(Number(nodeVersion?.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(preludeArgs.get('BASE_IMAGE')).toBe(`node:${nodeVersion}-bookworm-slim`);
    for (const stage of stages) expect(stage.from).toBe('${BASE_IMAGE}');
  });

  test('the runtime stage takes only production dependencies and the compiled output', () => {
    const copies = of(final, 'COPY').map((i) => i.args);
    const fromStage = (name: string): string[] => copies.filter((c) => c.includes(`--from=${name} `));
    const depsStage = stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)));
    expect(depsStage?.name).toBeDefined();
    expect(fromStage(depsStage!.name!).some((c) => c.includes('/app/node_modules'))).toBe(true);
    const otherNodeModules = copies.filter((c) => c.includes('node_modules') && !c.includes(`--from=${depsStage!.name!} `));
    expect(otherNodeModules).toEqual([]);
    expect(copies.some((c) => /\/app\/dist\b/.test(c))).toBe(true);
    expect(copies.some((c) => /^(--\S+\s+)*(src|\.)\s/.test(c))).toBe(false);
    expect(of(final, 'RUN').some((i) => /\bnpm (ci|install)\b/.test(i.args))).toBe(false);
  });

  test('runs as a numeric non-root user, set after the last RUN', () => {
    const users = of(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!;
    const uid = Number(user.args.split(':')[0]);
    expect(Number.isInteger(uid) && uid > 0).toBe(true);
    const lastRun = of(final, 'RUN').at(-1);
    expect(user.line).toBeGreaterThan(lastRun?.line ?? 0);
  });

  test('includes redis-server for the embedded mode, installed the hadolint way', () => {
    const install = of(final, 'RUN').find((i) => /apt-get install/.test(i.args));
    expect(install?.args).toMatch(/apt-get install -y --no-install-recommends [^&]*\bredis-server\b/);
    expect(install?.args).toMatch(/apt-get update/);
    expect(install?.args).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
  });

  test('has a HEALTHCHECK on /health and an exec-form entrypoint running kms-server', () => {
    const health = of(final, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toMatch(/CMD \[.*\/health/);
    const entry = of(final, 'ENTRYPOINT').at(-1);
    expect(JSON.parse(entry!.args)).toEqual(['node', 'dist/cli/kms-server.js']);
  });

  test('the HEALTHCHECK command, run here, exits 0 on /health 200 and 1 otherwise', async () => {
    const args = /CMD (\[.*\])$/.exec(of(final, 'HEALTHCHECK')[0]!.args)?.[1];
    const command = JSON.parse(args!) as string[];
    expect(command[0]).toBe('node');
    let status = 200;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? status : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      const check = async (): Promise<number> => (await run(process.execPath, command.slice(1), { env: { KMS_PORT: port } })).code;
      expect(await check()).toBe(0);
      status = 503;
      expect(await check()).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const closed = await run(process.execPath, command.slice(1), { env: { KMS_PORT: port } });
    expect(closed.code).toBe(1);
  });

  test('hadolint hygiene: no ADD, no cd in RUN, no apt-get upgrade, no sudo, absolute WORKDIR', () => {
    expect(all.filter((i) => i.keyword === 'ADD')).toEqual([]);
    expect(all.filter((i) => i.keyword === 'RUN' && /(^|&&|;)\s*cd\s/.test(i.args))).toEqual([]);
    expect(all.filter((i) => i.keyword === 'RUN' && /apt-get (dist-)?upgrade|\bsudo\b/.test(i.args))).toEqual([]);
    for (const workdir of all.filter((i) => i.keyword === 'WORKDIR')) expect(workdir.args).toMatch(/^\//);
    expect(all.filter((i) => i.keyword === 'MAINTAINER')).toEqual([]);
  });

  test('.dockerignore keeps the context small and free of local state', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.git', 'node_modules', 'dist', 'test', 'coverage', 'kms-data']) expect(ignored).toContain(entry);
  });
});

/** Every .ts file under `dir` except tests. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Package names a module imports at run time (static and dynamic imports, not `import type`). */
export function runtimePackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('production dependencies', () => {
  test('cover every package src/ imports at run time (the image installs only these)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const missing = sourceFiles(path.join(ROOT, 'src')).flatMap((file) =>
      runtimePackages(readFileSync(file, 'utf8'))
        .filter((name) => !(name in pkg.dependencies))
        .map((name) => `${path.relative(ROOT, file)} imports ${name}`),
    );
    expect(missing).toEqual([]);
  });

  test('runtimePackages finds static, re-export and dynamic imports, not type-only ones', () => {
    const source = [
      "import { a } from '@scope/pkg/sub.js';",
      "import type { T } from 'types-only';",
      "export { b } from 'reexported';",
      "import 'side-effect';",
      "const m = await import('dynamic/deep.js');",
      "import { c } from './local.js';",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(runtimePackages(source)).toEqual(['@scope/pkg', 'reexported', 'side-effect', 'dynamic']);
  });
});

describe('parseDockerfile', () => {
  test('joins continuations, skips comments, and refuses instructions before FROM', () => {
    const parsed = parseDockerfile('# c\nFROM a:1 AS x\nRUN one \\\n  # inner comment\n  two\nFROM b:2\nUSER 1\n');
    expect(parsed).toEqual([
      { from: 'a:1', name: 'x', instructions: [{ keyword: 'RUN', args: 'one two', line: 3 }] },
      { from: 'b:2', name: undefined, instructions: [{ keyword: 'USER', args: '1', line: 7 }] },
    ]);
    expect(() => parseDockerfile('RUN x\n')).toThrow('line 1: RUN before FROM');
  });
});
