import { describe, expect, it } from '@jest/globals';
import { csvCell, csvLine } from './csv-writer.js';

describe('csv writer', () => {
  it('quotes cells with commas, quotes or line breaks, RFC 4180 style', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3.5])).toBe(
      'a,"b,c","say ""hi""","two\nlines",,3.5\r\n',
    );
  });

  it.each(['=SUM(A1:A2)', '+1', '-2+3', '@cmd', '\tx'])('defuses the formula-like cell %j', (cell) => {
    expect(csvCell(cell).replace(/^"|"$/g, '').startsWith("'")).toBe(true);
  });

  it('leaves numbers, including negative ones, as numbers', () => {
    expect(csvCell(-0.25)).toBe('-0.25');
    expect(csvCell(Number.NaN)).toBe('');
  });
});
