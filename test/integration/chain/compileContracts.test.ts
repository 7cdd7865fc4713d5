import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

jest.setTimeout(120_000);

const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs scripts/compile-contracts.ts with `args` (real solc), returning exit code and output. */
function compile(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'scripts/compile-contracts.ts'), ...args], { cwd: repo }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr });
    });
  });
}

describe('scripts/compile-contracts.ts', () => {
  test('behavior: the committed artifact and generated modules are exactly what solc 0.8.28 produces', async () => {
    const result = await compile(['--check']);
    expect(result.output).toContain('committed outputs match OperatorRegistry.sol (solc 0.8.28+');
    expect(result.code).toBe(0);
  });

  test('error: --check fails, naming the stale files, when the source changed without a re-run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kms-compile-'));
    try {
      cpSync(join(repo, 'contracts'), join(root, 'contracts'), { recursive: true });
      mkdirSync(join(root, 'src', 'chain'), { recursive: true });
      for (const file of ['registryAbi.ts', 'registryBytecode.ts']) {
        cpSync(join(repo, 'src', 'chain', file), join(root, 'src', 'chain', file));
      }
      appendFileSync(join(root, 'contracts', 'OperatorRegistry.sol'), '\n// an edit\n');
      const result = await compile(['--check', '--root', root]);
      expect(result.code).toBe(1);
      expect(result.output).toContain(`${join(root, 'contracts', 'artifacts', 'OperatorRegistry.json')} is not what OperatorRegistry.sol compiles to`);
      expect(result.output).toContain(`${join(root, 'src', 'chain', 'registryBytecode.ts')} is not what`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
