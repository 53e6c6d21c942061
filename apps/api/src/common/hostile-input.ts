/**
 * Input PostgreSQL or the JavaScript runtime cannot take, found before it reaches them: NUL
 * characters (text and jsonb refuse them) and nesting deep enough to overflow the stack of a
 * recursive walk (JSON.stringify, validation). Walks without recursion, so the check itself
 * cannot overflow.
 */

/** Deeper than any real payload (Segment's own limit is 32 KB a message), far below the stack's reach. */
export const MAX_JSON_DEPTH = 64;

export interface InputProblem {
  /** Where, as a dotted path (`filter.all.0.value`); empty for the value itself. */
  path: string;
  message: string;
}

interface Node {
  value: unknown;
  depth: number;
  key: string | null;
  parent: Node | null;
}

function pathOf(node: Node): string {
  const keys: string[] = [];
  for (let n: Node | null = node; n && n.key !== null; n = n.parent) keys.push(n.key);
  return keys.reverse().join('.');
}

/** The first NUL character (in a string or a key) or over-deep nesting in a JSON-like value, or null. */
export function findInputProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): InputProblem | null {
  const stack: Node[] = [{ value, depth: 0, key: null, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      if (v.includes('\0')) return { path: pathOf(node), message: 'must not contain NUL characters' };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (node.depth >= maxDepth)
      return { path: pathOf(node), message: `is nested deeper than ${maxDepth} levels` };
    const entries: [string, unknown][] = Array.isArray(v)
      ? v.map((item, i): [string, unknown] => [String(i), item])
      : Object.entries(v as Record<string, unknown>);
    for (const [key, item] of entries) {
      const child: Node = { value: item, depth: node.depth + 1, key, parent: node };
      if (key.includes('\0')) return { path: pathOf(node), message: 'has a key with a NUL character' };
      stack.push(child);
    }
  }
  return null;
}

/** JSON text of a refused payload, kept for the user to see; a value too deep to write is described instead. */
export function storableJson(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch (error) {
    if (error instanceof RangeError)
      return JSON.stringify('(not stored: nested too deeply to write as JSON)');
    throw error;
  }
}
