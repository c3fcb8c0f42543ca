import { describe, expect, it } from 'vitest';
import { stripJsonComments } from './load.js';

describe('commented config files', () => {
  it('blanks line and block comments, keeping strings that look like comments and every position', () => {
    const text = '// head\n{ "a": "http://x//y", /* note */ "b": "/* not */" // tail\n}';
    const stripped = stripJsonComments(text);
    expect(stripped).toHaveLength(text.length);
    expect(stripped.split('\n')).toHaveLength(text.split('\n').length);
    expect(JSON.parse(stripped)).toEqual({ a: 'http://x//y', b: '/* not */' });
  });

  it('keeps an escaped quote inside a string', () => {
    expect(JSON.parse(stripJsonComments('{"a": "say \\"//hi\\"" // c\n}'))).toEqual({ a: 'say "//hi"' });
  });

  it('leaves broken JSON broken, so the parse error still names the place', () => {
    expect(() => JSON.parse(stripJsonComments('{ "a": 1, // c\n "b": }'))).toThrow(SyntaxError);
  });
});
