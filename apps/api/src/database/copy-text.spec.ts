import { describe, expect, it } from '@jest/globals';
import { copyJson, copyNumber, copyRow, copyText, copyTextArray, copyTime } from './copy-text.js';

describe('COPY text encoding', () => {
  it('escapes the characters COPY treats specially', () => {
    expect(copyText('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
    expect(copyText('plain')).toBe('plain');
  });

  it('writes null as \\N', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyNumber(undefined)).toBe('\\N');
    expect(copyNumber(Number.NaN)).toBe('\\N');
    expect(copyTime(null)).toBe('\\N');
  });

  it('keeps JSON intact, backslashes included', () => {
    expect(copyJson({ path: 'C:\\x', note: 'line\nbreak' })).toBe(
      '{"path":"C:\\\\\\\\x","note":"line\\\\nbreak"}',
    );
  });

  it('quotes text[] elements so commas and quotes survive', () => {
    expect(copyTextArray(['how-to', 'a,b', 'say "hi"'])).toBe('{"how-to","a,b","say \\\\"hi\\\\""}');
  });

  it('joins a row with tabs and ends it with a newline', () => {
    expect(copyRow(['1', copyTime(new Date('2026-01-02T03:04:05Z'))])).toBe('1\t2026-01-02T03:04:05.000Z\n');
  });
});
