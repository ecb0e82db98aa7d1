import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/domain/errors.js';
import { loadCredentials, redact, secretsOf } from '../../../../src/core/adapters/ig/credentials.js';

const FULL_ENV = {
  IG_API_KEY: 'key-123456',
  IG_IDENTIFIER: 'trader7',
  IG_PASSWORD: 'pa55word!',
  IG_ACCOUNT_ID: 'ABC123',
};

describe('loadCredentials', () => {
  it('reads the four variables from the environment', () => {
    expect(loadCredentials({ env: FULL_ENV, store: null })).toEqual({
      apiKey: 'key-123456',
      identifier: 'trader7',
      password: 'pa55word!',
      accountId: 'ABC123',
    });
  });

  it('the environment wins over the settings store, which fills the gaps', () => {
    const store = {
      get: (key: string) => ({ 'ig.apiKey': 'stored-key', 'ig.password': 'stored-pw', 'ig.accountId': 'ZZZ' })[key],
    };
    const creds = loadCredentials({ env: { IG_API_KEY: 'env-key', IG_IDENTIFIER: 'me' }, store });
    expect(creds).toEqual({ apiKey: 'env-key', identifier: 'me', password: 'stored-pw', accountId: 'ZZZ' });
  });

  it('keys and names are trimmed (pasted with a newline); a password is taken as it is, spaces and all', () => {
    const env = {
      IG_API_KEY: ' key-123456\n',
      IG_IDENTIFIER: 'trader7 ',
      IG_PASSWORD: ' pa55 word ',
      IG_ACCOUNT_ID: 'ABC123\n',
    };
    expect(loadCredentials({ env, store: null })).toEqual({
      apiKey: 'key-123456',
      identifier: 'trader7',
      password: ' pa55 word ',
      accountId: 'ABC123',
    });
    const stored = { get: (key: string) => ({ 'ig.password': ' saved pw ' })[key] };
    expect(loadCredentials({ env: { IG_API_KEY: 'k12345', IG_IDENTIFIER: 'me' }, store: stored }).password).toBe(
      ' saved pw ',
    );
  });

  it('IG_ACCOUNT_ID is optional: the session default account is used', () => {
    const env: Record<string, string> = { ...FULL_ENV };
    delete env['IG_ACCOUNT_ID'];
    expect(loadCredentials({ env, store: null }).accountId).toBeUndefined();
  });

  it('missing values are a UserError naming exactly the variables to set', () => {
    let caught: unknown;
    try {
      loadCredentials({ env: { IG_API_KEY: 'k', IG_PASSWORD: '  ' }, store: { get: () => undefined } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UserError);
    const err = caught as UserError;
    expect(err.message).toBe('IG credentials missing: IG_IDENTIFIER, IG_PASSWORD');
    expect(err.hint).toMatch(/never go in the configuration file/);
  });
});

describe('redact', () => {
  it.each([
    { text: 'login with pa55word! failed', out: 'login with *** failed', reason: 'a password' },
    { text: 'CST-abcdef|XST-ghijkl', out: 'CST-***|XST-***', reason: 'stream password made of two tokens' },
    { text: 'key key-123456 and key-1234567', out: 'key *** and ***', reason: 'the longest secret is replaced first' },
    { text: 'nothing to hide', out: 'nothing to hide', reason: 'no secret, no change' },
  ])('$reason', ({ text, out }) => {
    expect(redact(text, ['pa55word!', 'abcdef', 'ghijkl', 'key-123456', 'key-1234567', undefined])).toBe(out);
  });

  it('ignores secrets too short to mean anything', () => {
    expect(redact('a b c', ['a', ''])).toBe('a b c');
  });

  it('secretsOf lists the API key, the password and the identifier', () => {
    expect(secretsOf({ apiKey: 'k1', identifier: 'i1', password: 'p1' }).sort()).toEqual(['i1', 'k1', 'p1']);
  });
});
