import { KmsError } from '../errors.js';

/** One bad setting, named by both ways of setting it (or by its KmsNode field). */
export interface ConfigProblem {
  /** The option-table name, e.g. "persistence-type". */
  readonly option: string;
  /** e.g. "--persistence-type"; for a KmsNode spec, the field path. */
  readonly flag: string;
  /** e.g. "KMS_PERSISTENCE_TYPE"; empty for a KmsNode spec field. */
  readonly env: string;
  /** What is wrong and what is allowed, e.g. "must be one of memory, redis; got 'badger'". */
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.env === '' ? `${problem.flag}: ${problem.message}` : `${problem.flag} (env ${problem.env}): ${problem.message}`;
}

/** Every problem in a configuration at once, so an operator fixes them in one pass. */
export class ConfigError extends KmsError {
  readonly code = 'CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
      details: { problems: problems.length },
    });
    this.problems = problems;
  }
}
