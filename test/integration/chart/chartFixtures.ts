/**
 * Renders the kms-node chart with the helm binary built by test/e2e/infra/build-tools.sh, and
 * the values the chart tests share.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// js-yaml comes with @kubernetes/client-node; plain parsing keeps the wire field names ("from", not "_from").
import yaml from 'js-yaml';
import { ensureTools, run } from '../../e2e/harness/tools.js';
import type { CommandResult } from '../../e2e/harness/tools.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART_DIR = path.join(ROOT, 'charts/kms-node');
export const OPERATOR = '0x1111111111111111111111111111111111111111';
export const REGISTRY = '0x2222222222222222222222222222222222222222';

/** The smallest complete values: identity, chain, and an encrypted AWS class. */
export const BASE_VALUES: Values = {
  node: {
    operator: { address: OPERATOR, keySecretRef: { name: 'kms-operator', key: 'operator-key' } },
    chain: { rpcUrlSecretRef: { name: 'kms-chain', key: 'rpc-url' }, chainId: 17000, registryAddress: REGISTRY },
  },
  storage: { storageClass: { create: true, provider: 'aws' } },
};

export type Values = { [key: string]: Value };
type Value = string | number | boolean | null | Value[] | Values;

/** Deep merge of plain objects (arrays and scalars from `override` replace). */
export function merge(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
  }
  return out;
}

function isObject(value: Value | undefined): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A rendered Kubernetes object, loosely typed: tests read fields by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered extends CommandResult {
  readonly objects: K8sObject[];
}

let helmPath: string | undefined;

/** Builds helm on first use (minutes) or finds it in the cache. */
export async function helm(): Promise<string> {
  if (helmPath === undefined) {
    const tools = await ensureTools(['helm']);
    if (tools.helm === undefined) throw new Error('build-tools.sh printed no HELM_DIR');
    helmPath = tools.helm;
  }
  return helmPath;
}

/** Runs helm with `values` written to a temp values file (`-f`). */
export async function helmWithValues(args: readonly string[], values: Values | undefined): Promise<CommandResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kms-chart-'));
  try {
    const valueArgs: string[] = [];
    if (values !== undefined) {
      const file = path.join(dir, 'values.json');
      writeFileSync(file, JSON.stringify(values));
      valueArgs.push('-f', file);
    }
    return await run(await helm(), [...args, ...valueArgs], {
      env: { HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_DATA_HOME: path.join(dir, 'data') },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart as release "node1" in namespace "kms". */
export async function render(values: Values | undefined, extraArgs: readonly string[] = []): Promise<Rendered> {
  const result = await helmWithValues(['template', 'node1', CHART_DIR, '--namespace', 'kms', ...extraArgs], values);
  const objects = result.code === 0 ? parseManifests(result.stdout) : [];
  return { ...result, objects };
}

/** The one rendered object of `kind` (and `name`, when given); fails the test otherwise. */
export function find(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${matches.length}`);
  return matches[0]!;
}

/** Parses a multi-document YAML stream as plain objects. */
export function parseManifests(stream: string): K8sObject[] {
  return yaml.loadAll(stream).filter((o): o is K8sObject => typeof o === 'object' && o !== null);
}
