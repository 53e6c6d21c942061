import {
  CONTACT_TRAIT_PREFIX,
  FILTER_OPS,
  type AudienceField,
  type FieldIssue,
  type FilterFieldType,
  type FilterNode,
  type FilterOp,
} from '@retain/contracts';

/**
 * The filter as the builder edits it: groups (all of / any of / none of) of conditions, each value
 * still the text of its input. It becomes the API's filter only when sent, so a half-typed
 * condition never breaks the preview, and every node knows the path the API names it by in a 400.
 */

export type GroupMode = 'all' | 'any' | 'none';

export interface DraftCondition {
  kind: 'condition';
  id: number;
  /** A field name from GET /api/campaigns/fields, or a trait prefix (trait. / contact.trait.) with `traitKey`. */
  field: string;
  traitKey: string;
  op: FilterOp;
  value: string;
  /** The upper end, for between. */
  value2: string;
}

export interface DraftGroup {
  kind: 'group';
  id: number;
  mode: GroupMode;
  children: DraftNode[];
}

export type DraftNode = DraftCondition | DraftGroup;

export const ACCOUNT_TRAIT = 'trait.';
export const CONTACT_TRAIT = CONTACT_TRAIT_PREFIX;

let nextId = 1;

export const newGroup = (mode: GroupMode = 'all'): DraftGroup => ({
  kind: 'group',
  id: nextId++,
  mode,
  children: [],
});

export const newCondition = (field: AudienceField | undefined): DraftCondition => ({
  kind: 'condition',
  id: nextId++,
  field: field?.name ?? '',
  traitKey: '',
  op: field?.ops[0] ?? 'eq',
  value: '',
  value2: '',
});

const ORDER_OPS: readonly FilterOp[] = ['gt', 'gte', 'lt', 'lte', 'between'];
const NO_VALUE: readonly FilterOp[] = ['is_null', 'is_not_null'];

export const isTrait = (field: string): boolean => field === ACCOUNT_TRAIT || field === CONTACT_TRAIT;

/** A trait compares as a number when the condition orders (more than, between), as text otherwise. */
export function conditionType(
  condition: DraftCondition,
  fields: ReadonlyMap<string, AudienceField>,
): FilterFieldType {
  if (isTrait(condition.field)) return ORDER_OPS.includes(condition.op) ? 'number' : 'text';
  return fields.get(condition.field)?.type ?? 'text';
}

/** The operators a condition offers: the field's, or every one for a trait. */
export function opsFor(field: string, fields: ReadonlyMap<string, AudienceField>): readonly FilterOp[] {
  if (isTrait(field)) return FILTER_OPS;
  return fields.get(field)?.ops ?? [];
}

export const needsValue = (op: FilterOp): boolean => !NO_VALUE.includes(op);

/** One value of the given type, from its input's text; undefined when blank or not of the type. */
function scalar(text: string, type: FilterFieldType): string | number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (type === 'number') {
    const number = Number(trimmed);
    return Number.isFinite(number) ? number : undefined;
  }
  // A timestamp is picked as a calendar day: the start of that day in UTC.
  if (type === 'timestamp') return /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed;
  return trimmed;
}

/** The condition's value as the API takes it, or undefined while it is incomplete. */
function conditionValue(
  condition: DraftCondition,
  type: FilterFieldType,
): { value?: unknown; complete: boolean } {
  if (!needsValue(condition.op)) return { complete: true };
  if (condition.op === 'between') {
    const from = scalar(condition.value, type);
    const to = scalar(condition.value2, type);
    return from === undefined || to === undefined
      ? { complete: false }
      : { value: [from, to], complete: true };
  }
  if (condition.op === 'in' || condition.op === 'not_in') {
    const items = condition.value
      .split(',')
      .map((item) => scalar(item, type))
      .filter((item) => item !== undefined);
    return items.length === 0 ? { complete: false } : { value: items, complete: true };
  }
  const value = scalar(condition.value, type);
  return value === undefined ? { complete: false } : { value, complete: true };
}

export interface SerializedFilter {
  filter: FilterNode | undefined;
  /** The API's path of each draft node (audience.filter.all.0), to show a 400's messages beside it. */
  paths: Map<number, string>;
  /** Conditions left out because they are not filled in yet. */
  incomplete: number;
}

/**
 * The draft as the API's filter. With `strict` off (the live preview) incomplete conditions and
 * empty groups are left out; with it on (saving) incomplete conditions are sent as they are, so the
 * API names what is missing.
 */
export function serializeFilter(
  root: DraftGroup,
  fields: ReadonlyMap<string, AudienceField>,
  strict: boolean,
): SerializedFilter {
  const paths = new Map<number, string>();
  let incomplete = 0;

  const group = (draft: DraftGroup, path: string): FilterNode | undefined => {
    const key = draft.mode === 'all' ? 'all' : 'any';
    const inner = draft.mode === 'none' ? `${path}.not.any` : `${path}.${key}`;
    const children: FilterNode[] = [];
    for (const child of draft.children) {
      const node = visit(child, `${inner}.${children.length}`);
      if (node) children.push(node);
    }
    if (children.length === 0) return undefined;
    paths.set(draft.id, path);
    if (draft.mode === 'none') return { not: { any: children } };
    return draft.mode === 'all' ? { all: children } : { any: children };
  };

  const condition = (draft: DraftCondition, path: string): FilterNode | undefined => {
    const field = isTrait(draft.field) ? `${draft.field}${draft.traitKey.trim()}` : draft.field;
    const { value, complete } = conditionValue(draft, conditionType(draft, fields));
    const blankField = draft.field === '' || (isTrait(draft.field) && draft.traitKey.trim() === '');
    if (!complete || blankField) {
      incomplete++;
      if (!strict) return undefined;
    }
    paths.set(draft.id, path);
    if (!needsValue(draft.op)) return { field, op: draft.op };
    // Sent as typed when it is not a valid value yet: the API names the field and what it expects.
    const sent = complete ? value : draft.value.trim() === '' ? undefined : draft.value;
    return sent === undefined ? { field, op: draft.op } : { field, op: draft.op, value: sent };
  };

  const visit = (draft: DraftNode, path: string): FilterNode | undefined =>
    draft.kind === 'group' ? group(draft, path) : condition(draft, path);

  return { filter: group(root, 'audience.filter'), paths, incomplete };
}

/** Counts the conditions in a draft. */
export function countConditions(node: DraftNode): number {
  return node.kind === 'condition'
    ? 1
    : node.children.reduce((sum, child) => sum + countConditions(child), 0);
}

/**
 * The issues of a 400 that name a draft node: a condition owns every path under its own; a group
 * only its own path and its list (a group-level problem, such as nesting too deep).
 */
export function issuesAt(
  issues: readonly FieldIssue[],
  paths: ReadonlyMap<number, string>,
  id: number,
  exact: boolean,
): FieldIssue[] {
  const path = paths.get(id);
  if (path === undefined) return [];
  return issues.filter((issue) =>
    exact
      ? issue.path === path ||
        (issue.path.startsWith(path) && /^\.(all|any|not)$/.test(issue.path.slice(path.length)))
      : issue.path === path || issue.path.startsWith(`${path}.`),
  );
}
