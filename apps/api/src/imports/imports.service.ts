import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Import, ImportFormat, ImportKind, TicketsWriteResponse } from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { silentProgress, type Progress } from '../common/progress/progress.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { readBody } from '../ingest/ingest-body.js';
import { ImportFileError, readCsvRows } from './csv-reader.js';
import type {
  AccountRecord,
  ContactRecord,
  RowResult,
  TicketRecord,
  TicketUpdate,
} from './import-records.js';
import { ImportsWriteRepository } from './imports-write.repository.js';
import { ImportsRepository } from './imports.repository.js';
import {
  ACCOUNT_COLUMNS,
  ACCOUNT_REQUIRED_COLUMNS,
  CONTACT_COLUMNS,
  CONTACT_REQUIRED_COLUMNS,
  TICKET_COLUMNS,
  TICKET_REQUIRED_COLUMNS,
  parseAccountRow,
  parseContactRow,
  parseTicketRow,
} from './record-parsers.js';
import { RowSink } from './row-sink.js';
import { readZendesk } from './zendesk-reader.js';

/** POST /api/tickets answers in the request; larger loads go through an import (202). */
export const TICKETS_BODY_LIMIT = 10 * 1024 * 1024;
/** Largest upload an import takes (after decompression). */
export const IMPORT_FILE_LIMIT = 2 * 1024 * 1024 * 1024;
/** Zendesk JSON is parsed whole; beyond this, send it as NDJSON (one page per line). */
const WHOLE_JSON_LIMIT = 512 * 1024 * 1024;
const PROGRESS_EVERY_MS = 500;
const SOURCE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ImportOptions {
  kind: ImportKind;
  format: ImportFormat;
  /** Tickets only: the system they come from; tickets are unique per (source, external id). */
  source?: string;
  /** Canonical column -> header in the file. */
  mapping?: Record<string, string>;
  fileName?: string;
}

/** One parsed item of a file, before it is known to be valid. */
type RawItem =
  | { index: number; line: number | null; values: unknown }
  | { index: number; line: number; error: { code: string; message: string } };

const FORMATS: Record<ImportKind, readonly ImportFormat[]> = {
  accounts: ['csv', 'ndjson'],
  contacts: ['csv', 'ndjson'],
  tickets: ['csv', 'ndjson', 'json', 'zendesk'],
};

function invalid(field: string, message: string): AppException {
  return new AppException(ErrorCode.ValidationFailed, `${field}: ${message}`, {
    fields: [{ path: field, message }],
  });
}

/** Counts the bytes that pass, for progress. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(
    chunk: Buffer,
    _enc: BufferEncoding,
    done: (e?: Error | null, data?: Buffer) => void,
  ): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * File imports (accounts, contacts, tickets as CSV, NDJSON, JSON or Zendesk's export) and the
 * synchronous POST /api/tickets. Every row is written or refused with its line and reason; a file
 * fails as a whole only when it cannot be read at all.
 */
@Injectable()
export class ImportsService {
  private readonly logger = new Logger('Imports');
  private readonly dir: string;
  /** Imports run one after another in this process, so two large files do not fight for the database. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly imports: ImportsRepository,
    private readonly writer: ImportsWriteRepository,
  ) {
    this.dir = path.join(config.dataDir, 'imports');
  }

  /**
   * Called by the server at start: uploads a stopped server left unfinished run again from their
   * stored file (the writes are upserts, so nothing is doubled).
   */
  async resumeUnfinished(): Promise<void> {
    for (const { id, status, ageHours } of await this.imports.unfinished()) {
      const file = await this.storedFile(id);
      if (file) {
        // run() takes the import's lock: if another copy is running it, this one leaves it alone.
        this.logger.log(`Resuming import ${id}`);
        this.enqueue(id, file);
        continue;
      }
      // No file here: a crashed run (its lock is free), or another copy's upload still queued there.
      if (status === 'queued' && ageHours < 24) continue;
      const lock = await this.imports.tryLock(id);
      if (!lock) continue;
      try {
        await this.imports.finish(
          id,
          'failed',
          'The process stopped before this import finished; run it again (rows already written are updated, not doubled)',
        );
      } finally {
        await lock.release();
      }
    }
  }

  validateOptions(options: ImportOptions): void {
    if (!FORMATS[options.kind].includes(options.format))
      throw invalid('format', `${options.kind} can be imported as ${FORMATS[options.kind].join(', ')}`);
    if (options.source !== undefined && !SOURCE_NAME.test(options.source))
      throw invalid('source', 'use 1-64 letters, digits, dot, dash or underscore');
  }

  /** Stores an uploaded file, answers with the import (202), and processes it in the background. */
  async upload(
    body: Readable & { headers: Record<string, string | string[] | undefined> },
    options: ImportOptions,
  ): Promise<Import> {
    this.validateOptions(options);
    const created = await this.imports.create(this.newImport(options));
    const file = this.fileFor(created.id, options);
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      const encoding = String(body.headers['content-encoding'] ?? '').toLowerCase();
      if (encoding && encoding !== 'identity') {
        // Compressed uploads are small enough to inflate in memory under the limit's guard.
        await fsp.writeFile(`${file}.part`, await readBody(body, IMPORT_FILE_LIMIT));
      } else {
        await pipeline(body, limitStream(IMPORT_FILE_LIMIT), fs.createWriteStream(`${file}.part`));
      }
      await fsp.rename(`${file}.part`, file);
    } catch (error) {
      await fsp.rm(`${file}.part`, { force: true });
      await this.imports.finish(created.id, 'failed', `Upload failed: ${(error as Error).message}`);
      throw error;
    }
    this.enqueue(created.id, file);
    return (await this.imports.get(created.id))!;
  }

  /** The CLI's import: runs a local file now, in this process, with a progress bar. */
  async importFile(filePath: string, options: ImportOptions, progress: Progress): Promise<Import> {
    this.validateOptions(options);
    await fsp.access(filePath, fs.constants.R_OK).catch(() => {
      throw new ImportFileError(`Cannot read ${filePath}`);
    });
    const created = await this.imports.create(
      this.newImport({ ...options, fileName: path.basename(filePath) }),
    );
    await this.run(created.id, filePath, options, progress);
    return (await this.imports.get(created.id))!;
  }

  async get(id: number): Promise<Import> {
    const found = await this.imports.get(id);
    if (!found) throw new AppException(ErrorCode.NotFound, `Import ${id} does not exist`);
    return found;
  }

  list(limit = 50): Promise<Import[]> {
    return this.imports.list(limit);
  }

  /** POST /api/tickets: a JSON array (or { tickets: [...] }) or NDJSON, answered with the counts. */
  async postTickets(
    body: Readable & { headers: Record<string, string | string[] | undefined> },
    source = 'api',
  ): Promise<TicketsWriteResponse> {
    if (!SOURCE_NAME.test(source))
      throw invalid('source', 'use 1-64 letters, digits, dot, dash or underscore');
    const bytes = await readBody(body, TICKETS_BODY_LIMIT).catch((error: unknown) => {
      if (error instanceof AppException && error.code === ErrorCode.PayloadTooLarge)
        throw new AppException(
          ErrorCode.PayloadTooLarge,
          'Body is over 10 MB; upload the file to POST /api/imports/tickets instead (answered 202 with progress)',
        );
      throw error;
    });
    const text = bytes.toString('utf8');
    const contentType = String(body.headers['content-type'] ?? '');
    let items: RawItem[];
    try {
      items = this.ticketItemsFromText(text, contentType.includes('ndjson') ? 'ndjson' : 'json');
    } catch (error) {
      // A body that is not a list of tickets is the client's mistake: 400, naming the body.
      if (error instanceof ImportFileError) throw invalid('body', error.message);
      throw error;
    }
    const sink = new RowSink<TicketRecord>(
      (rows, rejected) => this.writer.writeTickets(source, rows, rejected),
      'ticket',
      null,
    );
    for (const item of items) await this.consume(item, sink, parseTicketRow);
    await sink.flush();
    return { ...sink.counts, errors: sink.errors };
  }

  private newImport(options: ImportOptions) {
    return {
      kind: options.kind,
      format: options.format,
      source: options.kind === 'tickets' ? (options.source ?? defaultSource(options.format)) : null,
      fileName: options.fileName ?? null,
      options: { mapping: options.mapping ?? {} },
    };
  }

  private fileFor(id: number, options: ImportOptions): string {
    return path.join(this.dir, `${id}.${options.kind}.${options.format}`);
  }

  private async storedFile(id: number): Promise<string | null> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    const name = names.find((n) => n.startsWith(`${id}.`) && !n.endsWith('.part'));
    return name ? path.join(this.dir, name) : null;
  }

  private enqueue(id: number, file: string): void {
    this.queue = this.queue.then(async () => {
      try {
        const stored = await this.imports.get(id);
        if (!stored) return;
        const opts = await this.imports.options(id);
        const options: ImportOptions = {
          kind: stored.kind,
          format: stored.format,
          source: stored.source ?? undefined,
          mapping: (opts.mapping as Record<string, string> | undefined) ?? {},
        };
        // The file goes once its import has ended, not while another copy may still be reading it.
        if (await this.run(id, file, options, silentProgress)) await fsp.rm(file, { force: true });
      } catch (error) {
        this.logger.error(`Import ${id} failed: ${(error as Error).message}`);
      }
    });
  }

  /**
   * Processes one file to the end, under the import's lock; records progress, counts, and success
   * or the file-level failure. Returns false when another process runs it.
   */
  private async run(id: number, file: string, options: ImportOptions, progress: Progress): Promise<boolean> {
    // One runner per import across all API copies and CLIs: a database lock, not a process flag.
    const lock = await this.imports.tryLock(id);
    if (!lock) return false;
    try {
      const current = await this.imports.get(id);
      if (current && (current.status === 'queued' || current.status === 'running'))
        await this.runLocked(id, file, options, progress);
      return true;
    } finally {
      await lock.release();
    }
  }

  private async runLocked(
    id: number,
    file: string,
    options: ImportOptions,
    progress: Progress,
  ): Promise<void> {
    const { size } = await fsp.stat(file);
    await this.imports.start(id, size);
    progress.start(size);
    const importId = String(id);
    let lastReport = 0;
    const report = async (bytesDone: number, counts: RowSink<unknown>['counts'], force = false) => {
      progress.update(bytesDone);
      if (!force && Date.now() - lastReport < PROGRESS_EVERY_MS) return;
      lastReport = Date.now();
      await this.imports.progress(id, bytesDone, counts);
    };
    try {
      const counts = await this.process(file, size, options, importId, report);
      await this.imports.progress(id, size, counts);
      await this.imports.finish(id, 'succeeded', null);
      progress.update(size);
    } catch (error) {
      const message =
        error instanceof ImportFileError ? error.message : `Import failed: ${(error as Error).message}`;
      await this.imports.finish(id, 'failed', message).catch(() => undefined);
      if (!(error instanceof ImportFileError))
        this.logger.error(`Import ${id}: ${(error as Error).stack ?? error}`);
    } finally {
      progress.stop();
    }
  }

  private async process(
    file: string,
    size: number,
    options: ImportOptions,
    importId: string,
    report: (bytesDone: number, counts: RowSink<unknown>['counts'], force?: boolean) => Promise<void>,
  ): Promise<RowSink<unknown>['counts']> {
    const source = options.source ?? defaultSource(options.format);
    if (options.format === 'zendesk') return this.processZendesk(file, size, source, importId, report);

    const counter = new ByteCounter();
    const stream = fs.createReadStream(file).pipe(counter);
    let items: AsyncIterable<RawItem> | Iterable<RawItem>;
    if (options.format === 'csv') {
      const [required, known] =
        options.kind === 'accounts'
          ? [ACCOUNT_REQUIRED_COLUMNS, ACCOUNT_COLUMNS]
          : options.kind === 'contacts'
            ? [CONTACT_REQUIRED_COLUMNS, CONTACT_COLUMNS]
            : [TICKET_REQUIRED_COLUMNS, TICKET_COLUMNS];
      items = csvItems(readCsvRows(stream, { required, known, mapping: options.mapping }));
    } else if (options.format === 'ndjson') {
      items = ndjsonItems(stream, options.mapping);
    } else {
      if (size > WHOLE_JSON_LIMIT)
        throw new ImportFileError('JSON files over 512 MB must be sent as NDJSON (one item per line)');
      items = this.ticketItemsFromText(await fsp.readFile(file, 'utf8'), 'json', options.mapping);
    }

    if (options.kind === 'accounts') {
      const sink = new RowSink<AccountRecord>(
        (rows, rejected) => this.writer.writeAccounts(rows, rejected),
        'account',
        importId,
      );
      for await (const item of items) {
        await this.consume(item, sink, parseAccountRow);
        await report(counter.bytes, sink.counts);
      }
      await sink.flush();
      return sink.counts;
    }
    if (options.kind === 'contacts') {
      const sink = new RowSink<ContactRecord>(
        (rows, rejected) => this.writer.writeContacts(rows, rejected),
        'contact',
        importId,
      );
      for await (const item of items) {
        await this.consume(item, sink, parseContactRow);
        await report(counter.bytes, sink.counts);
      }
      await sink.flush();
      return sink.counts;
    }
    const sink = new RowSink<TicketRecord>(
      (rows, rejected) => this.writer.writeTickets(source, rows, rejected),
      'ticket',
      importId,
    );
    for await (const item of items) {
      await this.consume(item, sink, parseTicketRow);
      await report(counter.bytes, sink.counts);
    }
    await sink.flush();
    return sink.counts;
  }

  private async processZendesk(
    file: string,
    size: number,
    source: string,
    importId: string,
    report: (bytesDone: number, counts: RowSink<unknown>['counts'], force?: boolean) => Promise<void>,
  ): Promise<RowSink<unknown>['counts']> {
    if (size > WHOLE_JSON_LIMIT)
      throw new ImportFileError('Zendesk files over 512 MB must be NDJSON: one exported page per line');
    const items = [...readZendesk(await fsp.readFile(file, 'utf8'))];
    const tickets = new RowSink<TicketRecord>(
      (rows, rejected) => this.writer.writeTickets(source, rows, rejected),
      'ticket',
      importId,
    );
    // Metrics and ratings are written after the tickets read before them, so they find them.
    const updates = new RowSink<TicketUpdate>(
      (rows, rejected) => this.writer.writeTicketUpdates(source, rows, rejected),
      'ticket_update',
      importId,
      () => tickets.flush(),
    );
    const updateIds = new Set<string>();
    for (const [i, item] of items.entries()) {
      if (item.kind === 'ticket') await tickets.add(item.record);
      else if (item.kind === 'update') {
        updateIds.add(item.update.externalId);
        await updates.add(item.update);
      } else {
        await tickets.reject(
          { index: item.index, externalId: item.externalId, code: item.code, message: item.message },
          null,
        );
      }
      await report(
        Math.floor((size * (i + 1)) / Math.max(1, items.length)),
        sum(tickets.counts, updates.counts),
      );
    }
    await tickets.flush();
    await updates.flush();
    const total = sum(tickets.counts, updates.counts);
    // A metric counted as pending may have met its ticket later in the same file.
    const stillPending = await this.writer.countPending(source, [...updateIds]);
    const applied = updates.counts.pending - stillPending;
    return { ...total, pending: stillPending, updated: total.updated + Math.max(0, applied) };
  }

  private ticketItemsFromText(
    text: string,
    format: 'json' | 'ndjson',
    mapping?: Record<string, string>,
  ): RawItem[] {
    const trimmed = text.trimStart();
    if (format === 'json' && (trimmed.startsWith('[') || trimmed.startsWith('{'))) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        if (!text.includes('\n')) throw invalidJson(error);
        return collectNdjson(text, mapping);
      }
      const list = Array.isArray(parsed)
        ? parsed
        : isRecord(parsed) && Array.isArray(parsed.tickets)
          ? parsed.tickets
          : null;
      if (!list)
        throw new ImportFileError('Expected a JSON array of tickets, { "tickets": [...] } or NDJSON');
      return list.map((values: unknown, index: number) => ({
        index,
        line: null,
        values: remap(values, mapping),
      }));
    }
    return collectNdjson(text, mapping);
  }

  private async consume<T>(
    item: RawItem,
    sink: RowSink<T>,
    parse: (v: Record<string, unknown>) => RowResult<T>,
  ) {
    if ('error' in item) {
      await sink.reject(
        { index: item.index, line: item.line, code: item.error.code, message: item.error.message },
        null,
      );
      return;
    }
    if (!isRecord(item.values)) {
      await sink.reject(
        {
          index: item.index,
          line: item.line ?? undefined,
          code: 'INVALID_FIELD',
          message: 'row: must be a JSON object',
        },
        item.values,
      );
      return;
    }
    const result = parse(item.values);
    if (result.ok) await sink.add(result.value);
    else await sink.reject({ ...result.error, index: item.index, line: item.line ?? undefined }, item.values);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const defaultSource = (format: ImportFormat): string => (format === 'zendesk' ? 'zendesk' : 'default');

function sum(a: RowSink<unknown>['counts'], b: RowSink<unknown>['counts']): RowSink<unknown>['counts'] {
  return {
    received: a.received + b.received,
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    duplicates: a.duplicates + b.duplicates,
    pending: a.pending + b.pending,
    rejected: a.rejected + b.rejected,
  };
}

function invalidJson(error: unknown): ImportFileError {
  return new ImportFileError(`Not valid JSON: ${(error as Error).message}`);
}

/** Applies a column mapping to a JSON object: the file's key becomes the canonical one. */
function remap(values: unknown, mapping?: Record<string, string>): unknown {
  if (!mapping || !isRecord(values) || Object.keys(mapping).length === 0) return values;
  const out: Record<string, unknown> = { ...values };
  for (const [canonical, key] of Object.entries(mapping)) {
    if (key in out) {
      out[canonical] = out[key];
      delete out[key];
    }
  }
  return out;
}

function parseLine(line: string, index: number, lineNo: number, mapping?: Record<string, string>): RawItem {
  try {
    return { index, line: lineNo, values: remap(JSON.parse(line), mapping) };
  } catch (error) {
    return {
      index,
      line: lineNo,
      error: {
        code: 'INVALID_JSON',
        message: `line ${lineNo}: not valid JSON (${(error as Error).message})`,
      },
    };
  }
}

function collectNdjson(text: string, mapping?: Record<string, string>): RawItem[] {
  const items: RawItem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim()) items.push(parseLine(line, items.length, i + 1, mapping));
  });
  return items;
}

async function* ndjsonItems(stream: Readable, mapping?: Record<string, string>): AsyncGenerator<RawItem> {
  let lineNo = 0;
  let index = 0;
  for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim()) yield parseLine(line, index++, lineNo, mapping);
  }
}

async function* csvItems(
  rows: AsyncIterable<{
    line: number;
    values?: Record<string, string>;
    error?: { code: string; message: string };
  }>,
): AsyncGenerator<RawItem> {
  let index = 0;
  for await (const row of rows) {
    if (row.error) yield { index: index++, line: row.line, error: row.error };
    else yield { index: index++, line: row.line, values: row.values };
  }
}

function limitStream(limit: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit)
        done(
          new AppException(ErrorCode.PayloadTooLarge, `Upload is over ${Math.round(limit / 1024 ** 3)} GB`),
        );
      else done(null, chunk);
    },
  });
}
