/**
 * Printing and saving benchmark results: an aligned text table on stdout and
 * bench/results/<suite>.json with machine facts, so figures are comparable only with
 * others from the same machine and run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Cell = string | number | null;
export type Row = Readonly<Record<string, Cell>>;

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

function fmt(value: Cell): string {
  if (value === null) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** Renders rows as an aligned table (columns default to the union of keys, in order of appearance). */
export function formatTable(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => fmt(r[c] ?? null)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] !== 'string'));
  const line = (vals: readonly string[]): string =>
    vals.map((v, i) => (numeric[i] === true ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function printTable(title: string, rows: readonly Row[], columns?: readonly string[]): void {
  console.log(`\n${title}\n${formatTable(rows, columns)}`);
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly date: string;
  /** 1, 5 and 15 minute load averages when the results were written: how quiet the machine was. */
  readonly loadAverage: readonly number[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    date: new Date().toISOString(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Writes bench/results/<suite>.json ({suite, machine, ...payload}) and returns its path. */
export function writeResults(suite: string, payload: Readonly<Record<string, unknown>>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${suite}.json`);
  writeFileSync(path, `${JSON.stringify({ suite, machine: machineInfo(), ...payload }, null, 2)}\n`);
  return path;
}
