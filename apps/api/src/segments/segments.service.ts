import { Injectable } from '@nestjs/common';
import type {
  CreateSegmentRequest,
  FilterFieldList,
  FilterNode,
  Segment,
  SegmentMembersPage,
  SegmentMembersQuery,
  SegmentPreview,
  UpdateSegmentRequest,
} from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { compileFilter, filterFieldList } from './segment-filter.js';
import { SegmentsRepository } from './segments.repository.js';

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown })?.code === '23505';

/**
 * Custom segments: saved filters over account fields, scores and features. Filters are compiled
 * (and so checked) before anything is written; members are recomputed on save and every analytics run.
 */
@Injectable()
export class SegmentsService {
  constructor(private readonly segments: SegmentsRepository) {}

  fields(): FilterFieldList {
    return filterFieldList();
  }

  async create(request: CreateSegmentRequest): Promise<Segment> {
    compileFilter(request.filter);
    const id = await this.unique(request.name, () =>
      this.segments.create(request.name, request.description ?? null, request.filter),
    );
    return this.get(id);
  }

  list(): Promise<Segment[]> {
    return this.segments.list();
  }

  async get(id: number): Promise<Segment> {
    const segment = await this.segments.findById(id);
    if (!segment) throw new AppException(ErrorCode.NotFound, `Segment ${id} does not exist`);
    return segment;
  }

  async update(id: number, request: UpdateSegmentRequest): Promise<Segment> {
    if (request.filter) compileFilter(request.filter);
    const found = await this.unique(request.name, () => this.segments.update(id, request));
    if (!found) throw new AppException(ErrorCode.NotFound, `Segment ${id} does not exist`);
    return this.get(id);
  }

  async delete(id: number): Promise<void> {
    if (!(await this.segments.delete(id)))
      throw new AppException(ErrorCode.NotFound, `Segment ${id} does not exist`);
  }

  /** Members a page at a time; an account manager (`owner`) sees only their own accounts. */
  async members(
    id: number,
    query: SegmentMembersQuery,
    owner: string | null = null,
  ): Promise<SegmentMembersPage> {
    await this.get(id);
    const members = await this.segments.members(id, query.limit, query.after ?? 0, owner);
    return {
      members,
      nextAfter: members.length === query.limit ? members.at(-1)!.accountId : null,
    };
  }

  preview(filter: FilterNode): Promise<SegmentPreview> {
    return this.segments.preview(compileFilter(filter));
  }

  /** Runs a write, answering a taken name with a CONFLICT rather than a database error. */
  private async unique<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new AppException(ErrorCode.Conflict, `A segment named "${name}" already exists`, {
        fields: [{ path: 'name', message: 'is taken' }],
      });
    }
  }
}
