import { PersistenceConfigError } from './errors.js';

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = 'v1';
export const DEFAULT_KEY_PREFIX = 'kms:';

/**
 * Letters, digits and the separators Redis users put in prefixes (braces for cluster hash
 * tags); 1-64 of them, the rule of --redis-key-prefix and the KmsNode CRD. Never empty: an
 * empty prefix would put this node's keys beside anything else in a shared Redis.
 */
const PREFIX = /^[A-Za-z0-9:_.{}-]{1,64}$/;

/**
 * Every Redis key this layer touches, built once per prefix. The two sorted-set
 * indexes (score = epoch / timestamp) are what lets list run without SCAN or KEYS.
 */
export interface KeySchema {
  readonly prefix: string;
  keyShare(epoch: number): string;
  session(sessionTimestamp: number): string;
  readonly activeVersion: string;
  readonly nodeState: string;
  readonly schemaVersion: string;
  /** A sealed known value that tells, at open, whether the configured secret is the one that wrote this data. */
  readonly sealingCheck: string;
  readonly keyShareIndex: string;
  readonly sessionIndex: string;
}

export function keySchema(prefix: string = DEFAULT_KEY_PREFIX): KeySchema {
  if (!PREFIX.test(prefix)) {
    throw new PersistenceConfigError(`Invalid key prefix "${prefix.slice(0, 80)}"`, {
      fix: 'use 1 to 64 characters from A-Z a-z 0-9 : _ . - { }, e.g. "kms:" or "node1:kms:"',
    });
  }
  return {
    prefix,
    keyShare: (epoch) => `${prefix}keyshare:${epoch}`,
    session: (ts) => `${prefix}session:${ts}`,
    activeVersion: `${prefix}active:version`,
    nodeState: `${prefix}nodestate:main`,
    schemaVersion: `${prefix}metadata:schema_version`,
    sealingCheck: `${prefix}metadata:sealing_check`,
    keyShareIndex: `${prefix}index:keyshares`,
    sessionIndex: `${prefix}index:sessions`,
  };
}
