/**
 * A child logger made only when a line is written through it. Every forwarded call binds its
 * request id (the front) and then its trace id (the correlation stage) so that each of its lines
 * names them; most calls write no line at all (a gateway at warn) or one (the call line), and a
 * pino child of a child costs about 4 µs to make, on every call. Here the bindings wait: binding
 * more onto a waiting child merges them, and the one child is made from the first logger that is
 * real, on the first line at a level the logger writes.
 */
import type { Bindings, Logger } from 'pino';

/** How a waiting child tells what it waits with. */
const WAITING = Symbol('waiting child');

interface Waiting {
  parent: Logger;
  bindings: Bindings;
}

export function childLater(log: Logger, bindings: Bindings): Logger {
  const known = (log as unknown as Record<symbol, Waiting | undefined>)[WAITING];
  const parent = known?.parent ?? log;
  const all = known ? { ...known.bindings, ...bindings } : bindings;
  let child: Logger | undefined;
  const made = () => (child ??= parent.child(all));
  return new Proxy(parent, {
    get(_target, prop) {
      if (prop === WAITING) return child ? undefined : { parent, bindings: all };
      // a line at a level the logger does not write makes no child
      if (!child && typeof prop === 'string' && prop in parent.levels.values && !parent.isLevelEnabled(prop)) return noop;
      const value: unknown = Reflect.get(made(), prop);
      return typeof value === 'function' ? value.bind(child) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(made(), prop, value);
    },
  });
}

function noop(): void {}
