import { KmsError } from '../errors.js';
import { ClientError, ClientErrorCode, badInput, isClientError } from './errors.js';

describe('ClientError', () => {
  it('keeps the summary and fix on the first line and lists nodes after it', () => {
    const err = new ClientError(ClientErrorCode.NO_AGREEMENT, 'no view is reported by enough nodes', {
      fix: 'retry later',
      nodes: [
        { url: 'http://a:8000', outcome: 'timeout' },
        { url: 'http://b:8000', outcome: 'version 5' },
      ],
    });
    expect(err.message).toBe('no view is reported by enough nodes. Fix: retry later\n  http://a:8000: timeout\n  http://b:8000: version 5');
    expect(err).toBeInstanceOf(KmsError);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.nodes).toHaveLength(2);
    expect(err.toJSON()).toEqual({ code: 'CLIENT_NO_AGREEMENT', message: err.message, details: {} });
    expect(isClientError(err)).toBe(true);
    expect(isClientError(new Error('x'))).toBe(false);
  });

  it('badInput names the field', () => {
    const err = badInput('app id too short', 'pass a longer one', 'appId');
    expect(err.code).toBe('CLIENT_BAD_INPUT');
    expect(err.details).toEqual({ field: 'appId' });
    expect(err.message).toBe('app id too short. Fix: pass a longer one');
  });
});
