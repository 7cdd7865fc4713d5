import type { LevelWithSilent } from 'pino';
import { ConfigError, type ConfigProblem } from './errors.js';
import { OPTION_SPECS, envName, type OptionSpec, type ServerOptionName } from './options.js';
import { LOG_LEVELS, cliSettingsInput, type ConfigSources } from './parseServerConfig.js';

/**
 * kms-server --controller: the KmsNode resource configures the node; the process's own
 * flags and env carry only what belongs to the process (the options marked 'process' in
 * the table). Anything else would be a second, silently ignored source of configuration,
 * so it stops start-up, named.
 */
export interface ControllerModeConfig {
  readonly kmsNodeName: string;
  readonly namespace: string;
  readonly host: string;
  readonly logLevel: LevelWithSilent;
  readonly redisServerBinary: string;
  /** The controller's resync period, ms. */
  readonly resyncPeriodMs: number;
  /** Where the data volume is mounted; the spec's dataPath must lie under it. */
  readonly volumeMountPath: string;
  /** Port of the process's own probe endpoints. */
  readonly probePort: number;
  /** The raw process-level values, handed to the one validator with each spec. */
  readonly processSettings: ReadonlyMap<ServerOptionName, string>;
}

const PROCESS_OPTIONS: readonly OptionSpec[] = OPTION_SPECS.filter((o) => o.controller === 'process');
const PROCESS_ENV = new Set(PROCESS_OPTIONS.map((o) => envName(o)));

/**
 * Kubernetes injects <SERVICE>_SERVICE_HOST, <SERVICE>_PORT_8000_TCP_ADDR, … for every
 * Service in the namespace (unless the pod sets enableServiceLinks: false, as the chart
 * does); a Service named kms-node-1 yields KMS_NODE_1_*. They are not settings.
 */
const SERVICE_LINK = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/;
function isServiceLink(env: string): boolean {
  return SERVICE_LINK.test(env);
}

/** True when the controller switch is on (flag or env): then parseControllerModeConfig applies. */
export function isControllerMode(sources: Pick<ConfigSources, 'flags' | 'env'>): boolean {
  const value = sources.flags.controller ?? sources.env[envName({ name: 'controller' })];
  return value !== undefined && ['true', '1', 'yes'].includes(value.trim().toLowerCase());
}

/** Where each non-process setting goes instead, for the refusal message. */
function instead(option: OptionSpec | undefined): string {
  const source = option?.controller;
  if (source !== undefined && source !== 'process') return `set ${source.path} in the KmsNode resource instead`;
  return 'it has no place in controller mode; remove it';
}

export function parseControllerModeConfig(sources: ConfigSources): ControllerModeConfig {
  const problems: ConfigProblem[] = [];
  const input = cliSettingsInput(sources);
  for (const option of OPTION_SPECS) {
    if (option.controller === 'process') continue;
    const name = option.name as ServerOptionName;
    if (sources.flags[name] !== undefined || sources.env[envName(option)] !== undefined) {
      problems.push(input.problem(name, `is not read in controller mode (the KmsNode resource configures the node): ${instead(option)}`));
    }
  }
  for (const env of Object.keys(sources.env)) {
    if (!env.startsWith('KMS_') || PROCESS_ENV.has(env) || OPTION_SPECS.some((o) => envName(o) === env) || isServiceLink(env)) continue;
    problems.push({ option: env, flag: env, env: '', message: 'is not a kms-server setting; in controller mode the pod env may carry only ' + [...PROCESS_ENV].join(', ') });
  }

  const given = (name: ServerOptionName): string | undefined => {
    const value = input.given(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const problem = (name: ServerOptionName, message: string): void => { problems.push(input.problem(name, message)); };
  const processSettings = new Map<ServerOptionName, string>();
  for (const option of PROCESS_OPTIONS) {
    const value = given(option.name as ServerOptionName) ?? option.defaultValue;
    if (value !== undefined) processSettings.set(option.name as ServerOptionName, value);
  }
  const kmsNodeName = given('kmsnode-name');
  if (kmsNodeName === undefined) problem('kmsnode-name', 'is required: the KmsNode resource name, when --controller is on');
  const namespace = given('namespace');
  if (namespace === undefined) problem('namespace', 'is required: the KmsNode namespace, when --controller is on');
  const logLevel = processSettings.get('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problem('log-level', `must be one of ${LOG_LEVELS.join(', ')}; got '${logLevel}'`);
  const resyncPeriodMs = wholeNumber(processSettings.get('controller-resync-ms'), 1_000, 86_400_000);
  if (resyncPeriodMs === undefined) problem('controller-resync-ms', `must be a whole number from 1000 to 86400000; got '${processSettings.get('controller-resync-ms') ?? ''}'`);
  const probePort = wholeNumber(processSettings.get('probe-port'), 1, 65_535);
  if (probePort === undefined) problem('probe-port', `must be a whole number from 1 to 65535; got '${processSettings.get('probe-port') ?? ''}'`);
  const volumeMountPath = given('volume-mount-path');
  if (volumeMountPath === undefined) problem('volume-mount-path', 'is required in controller mode: the mount path of the data volume, under which spec.persistence.dataPath must lie');
  else if (!volumeMountPath.startsWith('/')) problem('volume-mount-path', `must be an absolute path; got '${volumeMountPath}'`);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    kmsNodeName: kmsNodeName as string,
    namespace: namespace as string,
    host: processSettings.get('host') ?? '127.0.0.1',
    logLevel: logLevel as LevelWithSilent,
    redisServerBinary: processSettings.get('redis-server-binary') ?? 'redis-server',
    resyncPeriodMs: resyncPeriodMs as number,
    volumeMountPath: volumeMountPath as string,
    probePort: probePort as number,
    processSettings,
  };
}

function wholeNumber(value: string | undefined, min: number, max: number): number | undefined {
  const n = value !== undefined && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}
