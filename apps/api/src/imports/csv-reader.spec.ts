import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  type CsvItem,
  ImportFileError,
  parseMappingOption,
  readCsvRows,
  type CsvReadOptions,
} from './csv-reader.js';
import { ACCOUNT_COLUMNS, ACCOUNT_REQUIRED_COLUMNS, parseAccountRow } from './record-parsers.js';

const ACCOUNTS: CsvReadOptions = { required: ['external_id', 'name'], known: ['plan', 'mrr', 'created_at'] };

async function read(
  input: string | Buffer | Buffer[],
  options: CsvReadOptions = ACCOUNTS,
): Promise<CsvItem[]> {
  const items: CsvItem[] = [];
  for await (const item of readCsvRows(Readable.from(Array.isArray(input) ? input : [input]), options)) {
    items.push(item);
  }
  return items;
}

async function fileError(input: string, options: CsvReadOptions = ACCOUNTS): Promise<string> {
  try {
    await read(input, options);
  } catch (error) {
    if (error instanceof ImportFileError) return error.message;
    throw error;
  }
  throw new Error('no ImportFileError');
}

/** Splits the text into one-byte chunks, to cut line ends and UTF-8 characters in two. */
function bytewise(text: string): Buffer[] {
  return [...Buffer.from(text, 'utf8')].map((byte) => Buffer.from([byte]));
}

describe('readCsvRows', () => {
  it('reads rows with canonical keys for known columns and header text for the others', async () => {
    expect(await read('External ID,Name,Plan,Health Score, Notes \na1,Acme,pro,72,\n')).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: 'Acme', plan: 'pro', 'Health Score': '72', Notes: '' } },
    ]);
  });

  it('reports the physical line of each row across quoted multi-line cells and blank lines', async () => {
    const csv = [
      'external_id,name,created_at,notes',
      'a1,Acme,2026-01-01,plain',
      'a2,"Beta, Inc.","2026-01-02","first line',
      'second line',
      'with ""quotes"""',
      '',
      'a3,Gamma,2026-13-45,x',
      'a4,Delta,2026-01-04,"a',
      '',
      'b"',
      'a5,Eps,2026-01-05,y',
    ].join('\n');
    expect(await read(csv)).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: 'Acme', created_at: '2026-01-01', notes: 'plain' } },
      {
        line: 3,
        values: {
          external_id: 'a2',
          name: 'Beta, Inc.',
          created_at: '2026-01-02',
          notes: 'first line\nsecond line\nwith "quotes"',
        },
      },
      { line: 7, values: { external_id: 'a3', name: 'Gamma', created_at: '2026-13-45', notes: 'x' } },
      { line: 8, values: { external_id: 'a4', name: 'Delta', created_at: '2026-01-04', notes: 'a\n\nb' } },
      { line: 11, values: { external_id: 'a5', name: 'Eps', created_at: '2026-01-05', notes: 'y' } },
    ]);
  });

  it('gives the parser error of a row after a multi-line cell with the right line', async () => {
    const csv =
      '\uFEFFAccount ID,Name,Notes,Created At\r\nA-1,Acme,"line one\r\nline two",2026-01-01\r\nA-2,Beta,,2026-13-45\r\n';
    const options = {
      required: ACCOUNT_REQUIRED_COLUMNS,
      known: ACCOUNT_COLUMNS,
      mapping: { external_id: 'account id' },
    };
    const results = (await read(csv, options)).map((item) => {
      if ('error' in item) return item;
      const parsed = parseAccountRow(item.values);
      return { line: item.line, ...(parsed.ok ? { value: parsed.value } : { error: parsed.error }) };
    });
    expect(results).toStrictEqual([
      {
        line: 2,
        value: {
          externalId: 'A-1',
          name: 'Acme',
          createdAt: new Date('2026-01-01T00:00:00Z'),
          traits: { Notes: 'line one\nline two' },
        },
      },
      {
        line: 4,
        error: {
          externalId: 'A-2',
          code: 'INVALID_TIMESTAMP',
          message:
            'created_at: "2026-13-45" is not a date or timestamp (use ISO 8601, e.g. 2026-03-01T10:00:00Z)',
        },
      },
    ]);
  });

  it('keeps a "__proto__" header as a plain key', async () => {
    const [item] = await read('external_id,name,__proto__\na1,A,x\n');
    expect(item && 'values' in item && Object.getOwnPropertyDescriptor(item.values, '__proto__')?.value).toBe(
      'x',
    );
  });

  it('handles a BOM and CRLF line ends, also when chunks split them', async () => {
    const csv = '\uFEFFexternal_id,name,notes\r\na1,Zoë,"two\r\nlines"\r\n\r\na2,Ünal,x\r\n';
    const expected = [
      { line: 2, values: { external_id: 'a1', name: 'Zoë', notes: 'two\nlines' } },
      { line: 5, values: { external_id: 'a2', name: 'Ünal', notes: 'x' } },
    ];
    expect(await read(csv)).toStrictEqual(expected);
    expect(await read(bytewise(csv))).toStrictEqual(expected);
    expect(await read(Buffer.from(csv, 'utf8'))).toStrictEqual(expected);
  });

  it('handles old Mac CR line ends and a last line without a line end', async () => {
    expect(await read('external_id,name\ra1,A\ra2,B')).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: 'A' } },
      { line: 3, values: { external_id: 'a2', name: 'B' } },
    ]);
  });

  it('detects semicolon, tab and pipe delimiters from the header line', async () => {
    const expected = [{ line: 2, values: { external_id: 'a1', name: 'Acme, Inc.', mrr: '1,5' } }];
    expect(await read('external_id;name;mrr\na1;Acme, Inc.;1,5\n')).toStrictEqual(expected);
    expect(await read('external_id\tname\tmrr\na1\tAcme, Inc.\t1,5\n')).toStrictEqual(expected);
    expect(await read('external_id|name|mrr\na1|Acme, Inc.|"1,5"\n')).toStrictEqual(expected);
    expect(await read('"external_id;x",name\n1,2\n', { required: ['name'] })).toStrictEqual([
      { line: 2, values: { 'external_id;x': '1', name: '2' } },
    ]);
  });

  it('skips blank lines and rows of empty cells, also before the header', async () => {
    expect(await read('\n\n  \nexternal_id,name\n\n,\n a1 ,A\n\n')).toStrictEqual([
      { line: 7, values: { external_id: ' a1 ', name: 'A' } },
    ]);
  });

  it('yields a row with the wrong number of cells as an error and goes on', async () => {
    expect(await read('external_id,name\na1,A,extra\na2\na3,C\n')).toStrictEqual([
      { line: 2, error: { code: 'INVALID_FIELD', message: 'row has 3 cells, the header has 2' } },
      { line: 3, error: { code: 'INVALID_FIELD', message: 'row has 1 cells, the header has 2' } },
      { line: 4, values: { external_id: 'a3', name: 'C' } },
    ]);
  });

  it('yields a row whose quote is never closed as an error, after the rows before it', async () => {
    expect(await read('external_id,name\na1,A\na2,"B\na3,C\n')).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: 'A' } },
      {
        line: 3,
        error: {
          code: 'INVALID_FIELD',
          message:
            'row has a quoted cell that is never closed (a " is missing), so the rest of the file could not be read',
        },
      },
    ]);
  });

  it('keeps stray quotes inside unquoted cells', async () => {
    expect(await read('external_id,name\na1,27" monitor\n')).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: '27" monitor' } },
    ]);
  });

  it('maps headers, case-insensitively, and keeps a mapped header out of the traits', async () => {
    const options = { ...ACCOUNTS, mapping: { external_id: 'account id', name: 'Company' } };
    expect(await read('Account ID,Company,Tier\n42,Acme,gold\n', options)).toStrictEqual([
      { line: 2, values: { external_id: '42', name: 'Acme', Tier: 'gold' } },
    ]);
    // A mapping wins over a header with the canonical name, which is then dropped.
    expect(
      await read('id,external_id,name\n42,old,Acme\n', { ...ACCOUNTS, mapping: { external_id: 'id' } }),
    ).toEqual([{ line: 2, values: { external_id: '42', name: 'Acme' } }]);
    // One header may feed two columns.
    expect(
      await read('Company\nAcme\n', { ...ACCOUNTS, mapping: { external_id: 'Company', name: 'Company' } }),
    ).toEqual([{ line: 2, values: { external_id: 'Acme', name: 'Acme' } }]);
  });

  it('drops columns with an empty header', async () => {
    expect(await read('external_id,,name\na1,junk,A\n')).toStrictEqual([
      { line: 2, values: { external_id: 'a1', name: 'A' } },
    ]);
  });

  describe('file errors', () => {
    it('names the missing columns and the columns found', async () => {
      expect(await fileError('id,title\n1,x\n')).toBe(
        'Missing required column(s): external_id, name. Columns found: id, title. ' +
          'Map other headers with --map external_id="<header in your file>" (or the mapping option).',
      );
      expect(await fileError('external_id,title\n1,x\n')).toBe(
        'Missing required column(s): name. Columns found: external_id, title. ' +
          'Map other headers with --map name="<header in your file>" (or the mapping option).',
      );
    });

    it('refuses a mapping to a header the file lacks', async () => {
      expect(await fileError('id,name\n1,x\n', { ...ACCOUNTS, mapping: { external_id: 'Account ID' } })).toBe(
        'Mapping external_id=Account ID: the file has no column "Account ID". Columns found: id, name.',
      );
    });

    it('refuses two headers for one column, and a repeated header', async () => {
      expect(await fileError('external_id,External ID,name\n1,2,x\n')).toBe(
        'Columns "external_id" and "External ID" both mean external_id: remove one, or choose one with ' +
          '--map external_id=<header> (or the mapping option).',
      );
      expect(await fileError('external_id,name,Tier,Tier\n1,x,a,b\n')).toBe(
        'Column "Tier" appears twice in the header',
      );
    });

    it('refuses empty files, JSON and binary data', async () => {
      const empty = 'The file is empty: expected a header line naming the columns, then one row per line';
      expect(await fileError('')).toBe(empty);
      expect(await fileError('\uFEFF\r\n\r\n')).toBe(empty);
      expect(await fileError('{"external_id": "a1"}\n')).toBe(
        'The file looks like JSON, not CSV: the first line should name the columns',
      );
      expect(await fileError('PK\u0003\u0004\u0000\u0000,x\n')).toBe(
        'The file is not CSV text: it contains binary data',
      );
      expect(await fileError('external_id,"name\n')).toBe(
        'The file could not be read as CSV: line 1: row has a quoted cell that is never closed (a " is missing), ' +
          'so the rest of the file could not be read',
      );
    });

    it('yields nothing for a header without rows', async () => {
      expect(await read('external_id,name\n')).toStrictEqual([]);
    });
  });

  it('passes on errors of the input stream', async () => {
    const input = new Readable({
      read() {
        this.push('external_id,name\na1,A\n');
        this.destroy(new Error('disk on fire'));
      },
    });
    const seen: CsvItem[] = [];
    await expect(
      (async () => {
        for await (const item of readCsvRows(input, ACCOUNTS)) seen.push(item);
      })(),
    ).rejects.toThrow('disk on fire');
  });

  it('stops cleanly when the caller stops early', async () => {
    const csv = `external_id,name\n${Array.from({ length: 5000 }, (_, i) => `a${i},N${i}`).join('\n')}\n`;
    const rows = readCsvRows(Readable.from([csv]), ACCOUNTS);
    const first = await rows.next();
    expect(first.value).toEqual({ line: 2, values: { external_id: 'a0', name: 'N0' } });
    await rows.return(undefined);
    expect((await rows.next()).done).toBe(true);
  });

  it('numbers lines right across many rows and chunks', async () => {
    const rows = Array.from({ length: 300 }, (_, i) =>
      i % 7 === 0 ? `a${i},"multi\nline ${i}"` : `a${i},N${i}`,
    );
    const items = await read(bytewise(`external_id,name\r\n${rows.join('\r\n')}\r\n`));
    let line = 2;
    items.forEach((item, i) => {
      expect(item).toEqual({
        line,
        values: { external_id: `a${i}`, name: i % 7 === 0 ? `multi\nline ${i}` : `N${i}` },
      });
      line += i % 7 === 0 ? 2 : 1;
    });
    expect(items).toHaveLength(300);
  });
});

describe('parseMappingOption', () => {
  it('reads target=Header strings and JSON objects', () => {
    expect(parseMappingOption(undefined)).toEqual({});
    expect(parseMappingOption('external_id=Account ID')).toEqual({ external_id: 'Account ID' });
    expect(parseMappingOption(['external_id = Account ID', 'Created At=Opened=On', ''])).toEqual({
      external_id: 'Account ID',
      created_at: 'Opened=On',
    });
    expect(parseMappingOption('{"external_id":"Account ID","name":"Company"}')).toEqual({
      external_id: 'Account ID',
      name: 'Company',
    });
  });

  it('refuses bad syntax', () => {
    expect(() => parseMappingOption('external_id')).toThrow(
      new ImportFileError(
        'Mapping "external_id" must look like column=Header Name (e.g. external_id=Account ID) ' +
          'or be a JSON object {"external_id":"Account ID"}',
      ),
    );
    expect(() => parseMappingOption('=Account ID')).toThrow(ImportFileError);
    expect(() => parseMappingOption('external_id=')).toThrow(
      'Mapping "external_id=" needs both a column name and a header',
    );
    expect(() => parseMappingOption('{"external_id": 3}')).toThrow(
      'Mapping "{\\"external_id\\": 3}" is not a JSON object of column names to headers, ' +
        'e.g. {"external_id":"Account ID"}',
    );
    expect(() => parseMappingOption('{oops')).toThrow(ImportFileError);
    expect(() => parseMappingOption(['external_id=id', 'External ID=key'])).toThrow(
      'Mapping for external_id is given twice ("id" and "key")',
    );
  });
});
