import { describe, expect, it } from '@jest/globals';
import {
  generatePassword,
  hashPassword,
  maskEmail,
  newSecret,
  sameSecret,
  sha256,
  verifyPassword,
} from './secrets.js';

describe('passwords', () => {
  it('hashes with argon2id and a salt of its own: the same password twice gives two hashes, both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse')).toBe(true);
    expect(await verifyPassword(b, 'correct horse')).toBe(true);
  });

  it('refuses a wrong password, and a stored value that is not an argon2 hash', async () => {
    const hash = await hashPassword('correct horse');
    expect(await verifyPassword(hash, 'correct horsf')).toBe(false);
    expect(await verifyPassword('plain text', 'plain text')).toBe(false);
    expect(await verifyPassword('', '')).toBe(false);
  });

  it('generates passwords of 20 unambiguous characters, never the same twice', () => {
    const passwords = Array.from({ length: 200 }, () => generatePassword());
    for (const p of passwords) expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
    expect(new Set(passwords).size).toBe(passwords.length);
  });
});

describe('secrets', () => {
  it('makes 256-bit URL-safe secrets with the given prefix', () => {
    const token = newSecret('rt_');
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(newSecret()).not.toBe(newSecret());
  });

  it('stores secrets as their SHA-256 in hex', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('compares secrets exactly, whatever their lengths', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'a')).toBe(false);
  });
});

describe('maskEmail', () => {
  it('keeps the first letter and the domain', () => {
    expect(maskEmail('jane.doe@acme.com')).toBe('j***@acme.com');
    expect(maskEmail('a@b.io')).toBe('a***@b.io');
  });

  it('masks text that is not an address entirely, and passes null through', () => {
    expect(maskEmail('no-at-sign')).toBe('***');
    expect(maskEmail('@acme.com')).toBe('***');
    expect(maskEmail(null)).toBeNull();
  });
});
