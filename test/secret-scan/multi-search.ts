/**
 * Finds every occurrence of many byte strings ("needles", each at least WINDOW bytes) in a buffer
 * in one pass: a rolling hash of the last WINDOW bytes (Rabin-Karp) is looked up in a bit table
 * and, on a hit, in the needles that end with those bytes, which are then compared in full. The
 * cost is one multiply-add and one table read per byte, whatever the number of needles; a naive
 * indexOf per needle would read the text once per needle.
 */

export const WINDOW = 8;
const B = 0x01000193; // the FNV prime: odd, so the hash keeps the low bits of every byte
const B_OUT = power(B, WINDOW); // the weight of the byte that leaves the window
const TABLE_BITS = 19; // 64 KiB of bits: stays in the CPU cache, unlike a table of bytes
const MIX = 0x9e3779b1; // spreads the hash over the table's bits (Fibonacci hashing)

export interface Needle {
  bytes: Buffer;
  id: number;
}

export class MultiSearch {
  private readonly bits = new Uint32Array((1 << TABLE_BITS) >>> 5);
  private readonly byTail = new Map<number, Needle[]>();

  constructor(needles: readonly Needle[]) {
    for (const needle of needles) {
      if (needle.bytes.length < WINDOW) throw new Error(`a needle must have at least ${WINDOW} bytes (got ${needle.bytes.length})`);
      const h = hashOf(needle.bytes, needle.bytes.length - WINDOW);
      const s = slot(h);
      this.bits[s >>> 5] |= 1 << (s & 31);
      const same = this.byTail.get(h);
      if (same) same.push(needle);
      else this.byTail.set(h, [needle]);
    }
  }

  /** Calls `found` with each needle and the offset it starts at, in order of where it ends. */
  search(text: Buffer, found: (needle: Needle, start: number) => void): void {
    if (text.length < WINDOW) return;
    const bits = this.bits;
    let h = hashOf(text, 0);
    this.verify(h, text, WINDOW - 1, found);
    // one expression per byte, `i < text.length` in the condition: V8 compiles this shape several times faster
    for (let i = WINDOW; i < text.length; i++) {
      h = (Math.imul(h, B) + text[i] - Math.imul(text[i - WINDOW], B_OUT)) | 0;
      const s = slot(h);
      if ((bits[s >>> 5] & (1 << (s & 31))) !== 0) this.verify(h, text, i, found);
    }
  }

  /** Compares in full the needles whose last WINDOW bytes hash to `h`, ending at `end`. */
  private verify(h: number, text: Buffer, end: number, found: (needle: Needle, start: number) => void): void {
    for (const needle of this.byTail.get(h) ?? []) {
      const start = end + 1 - needle.bytes.length;
      if (start >= 0 && text.compare(needle.bytes, 0, needle.bytes.length, start, end + 1) === 0) found(needle, start);
    }
  }
}

function hashOf(bytes: Uint8Array, from: number): number {
  let h = 0;
  for (let i = from; i < from + WINDOW; i++) h = (Math.imul(h, B) + bytes[i]) | 0;
  return h;
}

function slot(h: number): number {
  return Math.imul(h, MIX) >>> (32 - TABLE_BITS);
}

function power(base: number, exponent: number): number {
  let p = 1;
  for (let i = 0; i < exponent; i++) p = Math.imul(p, base);
  return p;
}
