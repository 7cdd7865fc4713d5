#!/usr/bin/env node
// Sums jest --json result files (one per suite run) into the one plain line CI reads:
// "N passed, N failed". Exit status 1 when anything failed or a run left no result.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let failed = 0;
let skipped = 0;
let broken = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  try {
    const r = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    // A suite that failed to load reports no failed test but numFailedTestSuites > 0.
    const suiteErrors = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
    failed += suiteErrors;
    console.error(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests + suiteErrors} failed, ${r.numPendingTests} skipped`);
  } catch (err) {
    broken += 1;
    console.error(`${name}: unreadable result (${err.message})`);
  }
}
failed += broken;
console.log(skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
