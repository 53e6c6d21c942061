import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ItemErrorCode } from '@retain/contracts';
import { parse, type CsvError, type Info } from 'csv-parse';

/** A problem with the whole file (not CSV, no header, missing columns, bad mapping): nothing is imported. */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}

export interface CsvRow {
  /** 1-based physical line where the row starts (the header is line 1). */
  line: number;
  values: Record<string, string>;
}

export interface CsvRowError {
  line: number;
  error: { code: ItemErrorCode; message: string };
}

export type CsvItem = CsvRow | CsvRowError;

export interface CsvReadOptions {
  /** Canonical columns every file must have (after mapping and header normalisation). */
  required: readonly string[];
  /** Optional canonical columns: headers matching them ("First Response At") get the canonical name. */
  known?: readonly string[];
  /** Canonical column name -> the header the file uses for it, e.g. `{ external_id: 'Account ID' }`. */
  mapping?: Record<string, string>;
}

const DELIMITERS = [',', ';', '\t', '|'] as const;
const MAX_HEAD_CHARS = 64 * 1024;
const MAX_RECORD_CHARS = 1_000_000;

/** "External ID " -> "external_id": trimmed, lower case, runs of spaces and dashes as one underscore. */
export function normalizeHeader(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * The column mapping from the CLI (`--map external_id=Account ID`, repeatable) or the API (the same
 * strings, or one JSON object `{"external_id":"Account ID"}`). Targets are normalised like headers.
 * @throws ImportFileError on bad syntax or a target given twice.
 */
export function parseMappingOption(specs: string[] | string | undefined): Record<string, string> {
  const list = specs === undefined ? [] : Array.isArray(specs) ? specs : [specs];
  const mapping: Record<string, string> = {};
  const add = (target: string, header: string, spec: string): void => {
    const key = normalizeHeader(target);
    const name = header.trim();
    if (key === '' || name === '') {
      throw new ImportFileError(`Mapping ${JSON.stringify(spec)} needs both a column name and a header`);
    }
    const previous = Object.hasOwn(mapping, key) ? mapping[key] : undefined;
    if (previous !== undefined && previous !== name) {
      throw new ImportFileError(
        `Mapping for ${key} is given twice (${JSON.stringify(previous)} and ${JSON.stringify(name)})`,
      );
    }
    Object.defineProperty(mapping, key, {
      value: name,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };
  for (const spec of list) {
    const text = spec.trim();
    if (text === '') continue;
    if (text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      const entries = parsed !== null && typeof parsed === 'object' ? Object.entries(parsed) : [];
      if (entries.length === 0 || entries.some(([, header]) => typeof header !== 'string')) {
        throw new ImportFileError(
          `Mapping ${JSON.stringify(text)} is not a JSON object of column names to headers, ` +
            'e.g. {"external_id":"Account ID"}',
        );
      }
      for (const [target, header] of entries) add(target, String(header), text);
      continue;
    }
    const equals = text.indexOf('=');
    if (equals <= 0) {
      throw new ImportFileError(
        `Mapping ${JSON.stringify(text)} must look like column=Header Name (e.g. external_id=Account ID) ` +
          'or be a JSON object {"external_id":"Account ID"}',
      );
    }
    add(text.slice(0, equals), text.slice(equals + 1), text);
  }
  return mapping;
}

/**
 * Reads a CSV file row by row. The first non-blank line is the header; headers are matched to the
 * required/known columns case-insensitively (spaces and dashes read as underscores) or through the
 * mapping, and other headers are kept as they are written (trimmed), to become traits.
 * Handles a UTF-8 BOM, CRLF/CR line ends, quoted cells with delimiters, quotes and line breaks, and
 * files delimited by `;`, tab or `|` (detected from the header line). Blank lines are skipped.
 * A row with the wrong number of cells, or that is not valid CSV, is yielded as an error.
 * @throws ImportFileError for an empty file, a file that is not CSV, missing columns or a bad mapping.
 */
export async function* readCsvRows(
  input: NodeJS.ReadableStream | Readable,
  options: CsvReadOptions,
): AsyncGenerator<CsvItem> {
  const text = normalizedText(input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let head = '';
  let done = false;
  while (!/\S[^\n]*\n/.test(head) && head.length < MAX_HEAD_CHARS) {
    const next = await text.next();
    if (next.done) {
      done = true;
      break;
    }
    head += next.value;
  }
  if (head.trim() === '') {
    await text.return(undefined);
    throw new ImportFileError(
      'The file is empty: expected a header line naming the columns, then one row per line',
    );
  }
  const delimiter = detectDelimiter(head.trimStart().split('\n', 1)[0] ?? '');

  // Where the parser is: the last line of the last row it produced, to place rows it had to skip.
  let parsedUpTo = 0;
  const skipped: CsvRowError[] = [];
  const parser = parse({
    delimiter,
    record_delimiter: '\n',
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    info: true,
    max_record_size: MAX_RECORD_CHARS,
    skip_records_with_error: true,
    on_record: (record, context) => {
      parsedUpTo = context.lines;
      return record;
    },
    on_skip: (error: CsvError | undefined) => {
      skipped.push({
        line: parsedUpTo + 1,
        error: { code: 'INVALID_FIELD', message: csvErrorMessage(error) },
      });
      // The rows after an unclosed quote were read into it: count them as consumed.
      if (typeof error?.lines === 'number') parsedUpTo = error.lines;
    },
  });
  const source = Readable.from(
    (async function* () {
      try {
        yield head;
        while (!done) {
          const next = await text.next();
          if (next.done) break;
          if (next.value !== '') yield next.value;
        }
      } finally {
        await text.return(undefined);
      }
    })(),
  );
  // Errors of the input (or the decoder) destroy the parser, so they surface in the loop below.
  pipeline(source, parser, () => undefined);

  let header: Header | null = null;
  for await (const item of parser as AsyncIterable<{ info: Info; record: string[] }>) {
    const { record, info } = item;
    const line = info.lines - record.reduce((sum, cell) => sum + countNewlines(cell), 0);
    while (skipped.length > 0 && (skipped[0]?.line ?? 0) < line) yield skipped.shift() as CsvRowError;
    if (record.every((cell) => cell.trim() === '')) continue;
    if (header === null) {
      header = resolveHeader(record, options);
      continue;
    }
    if (record.length !== header.size) {
      yield {
        line,
        error: {
          code: 'INVALID_FIELD',
          message: `row has ${record.length} cells, the header has ${header.size}`,
        },
      };
      continue;
    }
    // fromEntries defines own properties, so even a "__proto__" header stays a plain key.
    const values: Record<string, string> = Object.fromEntries(
      header.entries.map(([index, key]) => [key, record[index] ?? '']),
    );
    yield { line, values };
  }
  if (header === null) {
    const problem = skipped[0];
    throw new ImportFileError(
      problem
        ? `The file could not be read as CSV: line ${problem.line}: ${problem.error.message}`
        : 'The file is empty: expected a header line naming the columns, then one row per line',
    );
  }
  yield* skipped;
}

// ---------------------------------------------------------------------------------------------

/** Decodes UTF-8, drops a BOM and turns CRLF and lone CR into LF, so line counting is simple. */
async function* normalizedText(input: AsyncIterable<unknown>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let started = false;
  let carriageReturn = false;
  const convert = (chunk: string): string => {
    let text = chunk;
    if (!started && text !== '') {
      started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (carriageReturn) text = `\r${text}`;
    carriageReturn = text.endsWith('\r');
    if (carriageReturn) text = text.slice(0, -1);
    return text.replace(/\r\n?/g, '\n');
  };
  for await (const chunk of input) {
    if (typeof chunk === 'string') yield convert(chunk);
    else if (chunk instanceof Uint8Array) yield convert(decoder.write(Buffer.from(chunk)));
    else throw new ImportFileError('The upload is not a text file');
  }
  const rest = convert(decoder.end());
  yield carriageReturn ? `${rest}\n` : rest;
}

/** The delimiter found most often outside quotes in the header line; a comma when there is none. */
function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best: string = ',';
  for (const candidate of DELIMITERS) {
    if ((counts.get(candidate) ?? 0) > (counts.get(best) ?? 0)) best = candidate;
  }
  return best;
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function csvErrorMessage(error: CsvError | undefined): string {
  if (error?.code === 'CSV_QUOTE_NOT_CLOSED') {
    return 'row has a quoted cell that is never closed (a " is missing), so the rest of the file could not be read';
  }
  if (error?.code === 'CSV_MAX_RECORD_SIZE') {
    return `row is longer than ${MAX_RECORD_CHARS} characters (is a quote missing?)`;
  }
  return `row is not valid CSV (${error?.message ?? 'unknown error'})`;
}

interface Header {
  /** Number of cells in the header. */
  size: number;
  /** [cell index, key] pairs in header order; a cell may feed several keys, or none. */
  entries: [number, string][];
}

function resolveHeader(cells: string[], options: CsvReadOptions): Header {
  const found = cells.map((cell) => cell.trim());
  const listed = found.filter((cell) => cell !== '').join(', ');
  if (found.some((cell) => cell.includes('\u0000'))) {
    throw new ImportFileError('The file is not CSV text: it contains binary data');
  }
  if (/^[[{]/.test(found[0] ?? '')) {
    throw new ImportFileError('The file looks like JSON, not CSV: the first line should name the columns');
  }
  const keys = new Map<number, string[]>();
  const assign = (index: number, key: string): void => {
    keys.set(index, [...(keys.get(index) ?? []), key]);
  };
  const normalized = found.map(normalizeHeader);
  const taken = new Set<string>();

  for (const [rawTarget, headerName] of Object.entries(options.mapping ?? {})) {
    const target = normalizeHeader(rawTarget);
    const wanted = headerName.trim().toLowerCase();
    let index = found.findIndex((cell) => cell.toLowerCase() === wanted);
    if (index === -1) index = normalized.indexOf(normalizeHeader(headerName));
    if (index === -1) {
      throw new ImportFileError(
        `Mapping ${target}=${headerName.trim()}: the file has no column ${JSON.stringify(headerName.trim())}. ` +
          `Columns found: ${listed || '(none)'}.`,
      );
    }
    assign(index, target);
    taken.add(target);
  }

  const canonical = [...new Set([...options.required, ...(options.known ?? [])].map(normalizeHeader))];
  for (const name of canonical) {
    if (taken.has(name)) continue;
    const matches = normalized.flatMap((cell, index) => (cell === name ? [index] : []));
    if (matches.length > 1) {
      const names = matches.map((index) => JSON.stringify(found[index])).join(' and ');
      throw new ImportFileError(
        `Columns ${names} both mean ${name}: remove one, or choose one with --map ${name}=<header> ` +
          '(or the mapping option).',
      );
    }
    if (matches[0] !== undefined) {
      assign(matches[0], name);
      taken.add(name);
    }
  }

  const missing = options.required.map(normalizeHeader).filter((name) => !taken.has(name));
  if (missing.length > 0) {
    throw new ImportFileError(
      `Missing required column(s): ${missing.join(', ')}. Columns found: ${listed || '(none)'}. ` +
        `Map other headers with --map ${missing[0]}="<header in your file>" ` +
        '(or the mapping option).',
    );
  }

  const traits = new Set<string>();
  found.forEach((cell, index) => {
    // Empty headers have no name to keep the value under; a header shadowed by a mapping is dropped.
    if (keys.has(index) || cell === '' || taken.has(normalized[index] ?? '')) return;
    if (traits.has(cell)) {
      throw new ImportFileError(`Column ${JSON.stringify(cell)} appears twice in the header`);
    }
    traits.add(cell);
    assign(index, cell);
  });
  const entries = [...keys.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([index, names]) => names.map((name): [number, string] => [index, name]));
  return { size: cells.length, entries };
}
