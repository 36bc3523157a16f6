/**
 * The gateway's own list cursors. Upstream cursors never reach clients: the gateway holds each merged
 * list whole and pages through it, so a cursor is just a position in the merged list.
 */
import { FleetError } from '../protocol/errors';
import type { ListKind } from '../servers/lists';

/** What a cursor pages through: a merged catalog list, or a client's tasks. */
export type PageKind = ListKind | 'tasks';

interface CursorState {
  kind: PageKind;
  offset: number;
}

export function paginate<T>(kind: PageKind, items: readonly T[], cursor: unknown, pageSize: number): { items: T[]; nextCursor?: string } {
  const offset = cursor === undefined ? 0 : decodeCursor(kind, cursor);
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < items.length ? { items: page, nextCursor: encodeCursor({ kind, offset: next }) } : { items: page };
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify({ k: state.kind, o: state.offset })).toString('base64url');
}

function decodeCursor(kind: PageKind, cursor: unknown): number {
  if (typeof cursor !== 'string') throw new FleetError('INVALID_PARAMS', `cursor must be a string (got ${typeof cursor})`);
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown; o?: unknown };
    if (state.k === kind && typeof state.o === 'number' && Number.isInteger(state.o) && state.o >= 0) return state.o;
  } catch {
    // fall through to the error below
  }
  throw new FleetError('INVALID_PARAMS', `invalid cursor for ${kind}: use a nextCursor this gateway returned for the same list`);
}
