import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
let exitHookInstalled = false;

/**
 * A fresh directory under the OS temp dir, mode 0700 (mkdtemp's default). Every
 * directory made here is removed at process exit if the test did not remove it.
 */
export function makeTempDir(prefix = 'kms-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const d of created) rmSync(d, { recursive: true, force: true }); });
  }
  return dir;
}

/** Removes a directory made by makeTempDir (idempotent). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}
