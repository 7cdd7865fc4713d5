import { PersistenceConfigError } from './errors.js';
import { keySchema } from './keySchema.js';

describe('keySchema', () => {
  it('builds the design\'s keys under the default prefix, plus the two sorted-set indexes', () => {
    const k = keySchema();
    expect([k.keyShare(1764000000), k.activeVersion, k.nodeState, k.session(1764000600), k.schemaVersion])
      .toEqual(['kms:keyshare:1764000000', 'kms:active:version', 'kms:nodestate:main', 'kms:session:1764000600', 'kms:metadata:schema_version']);
    expect([k.keyShareIndex, k.sessionIndex, k.sealingCheck]).toEqual(['kms:index:keyshares', 'kms:index:sessions', 'kms:metadata:sealing_check']);
  });

  it('prepends a configured prefix verbatim', () => {
    expect(keySchema('node1:{kms}:').keyShare(5)).toBe('node1:{kms}:keyshare:5');
    expect(keySchema('x'.repeat(64)).nodeState).toBe(`${'x'.repeat(64)}nodestate:main`);
  });

  it('refuses an empty prefix, and prefixes with spaces, glob characters or excessive length', () => {
    for (const prefix of ['', 'a b', 'kms*', 'k?', 'x'.repeat(65), 'ü:']) {
      expect(() => keySchema(prefix)).toThrow(PersistenceConfigError);
    }
  });
});
