import { describe, expect, it } from '@jest/globals';
import { findInputProblem, storableJson } from './hostile-input.js';

const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe('findInputProblem', () => {
  it('accepts ordinary JSON, including text that only looks like an escape', () => {
    expect(
      findInputProblem({ name: 'Acme', tags: ['a', 'b'], n: 1, ok: true, none: null, esc: '\\u0000' }),
    ).toBeNull();
    expect(findInputProblem(nested(64))).toBeNull();
  });

  it('names the path of a NUL character in a value or a key', () => {
    expect(findInputProblem({ filter: { all: [{ value: 'a\u0000b' }] } })).toEqual({
      path: 'filter.all.0.value',
      message: 'must not contain NUL characters',
    });
    expect(findInputProblem({ traits: { 'bad\u0000key': 1 } })).toEqual({
      path: 'traits',
      message: 'has a key with a NUL character',
    });
    expect(findInputProblem('\u0000')).toEqual({ path: '', message: 'must not contain NUL characters' });
  });

  it('stops at nesting past the limit, however deep the value goes, without overflowing', () => {
    expect(findInputProblem(nested(65))).toEqual({
      path: Array.from({ length: 64 }, () => '0').join('.'),
      message: 'is nested deeper than 64 levels',
    });
    expect(findInputProblem({ a: nested(200_000) })?.message).toBe('is nested deeper than 64 levels');
  });
});

describe('storableJson', () => {
  it('writes JSON, and describes a value too deep to write instead of throwing', () => {
    expect(storableJson({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(storableJson(undefined)).toBeNull();
    expect(storableJson(nested(200_000))).toBe('"(not stored: nested too deeply to write as JSON)"');
  });
});
