import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, idOf, nestsDeeperThan, own, parseJsonText, stringifyJson } from './json.js';
import type { JsonObject } from './types.js';

describe('parseJsonText', () => {
  it('keeps integers beyond 2^53 exact as bigint and leaves safe numbers as numbers', () => {
    const value = parseJsonText('{"big":9007199254740993,"neg":-123456789012345678901,"safe":1234567890123456,"small":42,"f":1.5}');
    expect(value).toEqual({ big: 9007199254740993n, neg: -123456789012345678901n, safe: 1234567890123456, small: 42, f: 1.5 });
  });

  it('reads long decimals as numbers, as JSON.parse does', () => {
    expect(parseJsonText('[0.12345678901234567890, 12345678901234567.5]')).toEqual(JSON.parse('[0.12345678901234567890, 12345678901234567.5]'));
  });

  it('leaves long digit runs inside strings alone', () => {
    expect(parseJsonText('{"id":"12345678901234567890123"}')).toEqual({ id: '12345678901234567890123' });
  });

  it('lets the last duplicate key win on both paths', () => {
    expect(parseJsonText('{"a":1,"a":2}')).toEqual({ a: 2 });
    expect(parseJsonText('{"a":1,"b":12345678901234567890,"a":{"x":1}}')).toEqual({ a: { x: 1 }, b: 12345678901234567890n });
  });

  it('keeps a "__proto__" key as an own property without touching the prototype', () => {
    for (const text of ['{"__proto__":{"polluted":true}}', '{"__proto__":{"polluted":true},"n":12345678901234567890}']) {
      const value = parseJsonText(text) as JsonObject;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('throws a SyntaxError for text that is not JSON on both paths', () => {
    expect(() => parseJsonText('{')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a":12345678901234567890')).toThrow(SyntaxError);
  });
});

describe('stringifyJson', () => {
  it('writes bigints as bare digits', () => {
    expect(stringifyJson({ a: 12345678901234567890123n, b: [1, 'x', null] })).toBe('{"a":12345678901234567890123,"b":[1,"x",null]}');
  });

  it('round-trips through parseJsonText without losing digits', () => {
    const value = { id: 'x', n: -98765432109876543210n, nested: [{ m: 9007199254740993n }] };
    expect(parseJsonText(stringifyJson(value))).toEqual(value);
  });

  it('indents when asked, bigints included', () => {
    expect(stringifyJson({ a: 12345678901234567890n }, 2)).toBe('{\n  "a": 12345678901234567890\n}');
  });
});

describe('nestsDeeperThan', () => {
  it('counts nesting of objects and arrays', () => {
    const deep = '['.repeat(20) + ']'.repeat(20);
    expect(nestsDeeperThan(deep, 19)).toBe(true);
    expect(nestsDeeperThan(deep, 20)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[{}]}}'.padEnd(40, ' '), 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[[[[[[[{{{{{{{{{{ \\" [[[[[[[[[[' });
    expect(nestsDeeperThan(text, 1)).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: 'x' } })).toBe(canonicalJson({ a: { c: 'x', d: [1, 2] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('writes bigints as digits and undefined as null', () => {
    expect(canonicalJson([12345678901234567890n, undefined as never, null, true])).toBe('[12345678901234567890,null,null,true]');
  });

  it('keeps strings that look alike apart', () => {
    expect(canonicalJson(['a,b'])).not.toBe(canonicalJson(['a', 'b']));
    expect(canonicalJson(['1'])).not.toBe(canonicalJson([1]));
  });
});

describe('idOf and own', () => {
  it('turns ids sent as numbers into their exact digits', () => {
    expect(idOf('abc')).toBe('abc');
    expect(idOf(16315551181)).toBe('16315551181');
    expect(idOf(123456789012345678901234567890n)).toBe('123456789012345678901234567890');
    expect(idOf(1e21)).toBe('1e+21');
    expect(idOf(null)).toBeUndefined();
    expect(idOf(true)).toBeUndefined();
    expect(idOf(Number.NaN)).toBeUndefined();
  });

  it('reads only own properties, so attacker-chosen keys never reach the prototype', () => {
    const message: JsonObject = { type: 'constructor' };
    expect(own(message, 'constructor')).toBeUndefined();
    expect(own(message, 'toString')).toBeUndefined();
    expect(own(message, 'type')).toBe('constructor');
    expect(own([1] as never, '0')).toBeUndefined();
  });
});

describe('nestsDeeperThan on strings with escapes', () => {
  const pad = ' '.repeat(50);
  it('treats an escaped quote as part of the string and an escaped backslash as ending the escape', () => {
    expect(nestsDeeperThan(`{"a":"x\\"[[[[[[[[[["}${pad}`, 2)).toBe(false);
    expect(nestsDeeperThan(`{"a":"x\\\\","b":[[[[]]]]}${pad}`, 3)).toBe(true);
    expect(nestsDeeperThan(`{"a":"\\\\\\"[[[[[["}${pad}`, 2)).toBe(false);
  });

  it('leaves an unterminated string to the parser', () => {
    expect(nestsDeeperThan(`{"a":"[[[[[[[[${pad}`, 2)).toBe(false);
  });
});

describe('nestsDeeperThan against the parsed depth', () => {
  function depthOf(value: unknown): number {
    if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
    if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
    return 0;
  }

  it('agrees with the depth of the value for any JSON text', () => {
    const text = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', '\n') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(text, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 6 }), (v, max) => {
        expect(nestsDeeperThan(JSON.stringify(v), max)).toBe(depthOf(v) > max);
      }),
      { numRuns: 500 },
    );
  });
});
