import { trimEnd, trimStart } from './fields.js';

/**
 * Market names seen by all files. Internal ids cover every market met (order checks are per
 * market); public ids cover only the markets that are delivered, i.e. those in the configuration.
 */
export class MarketRegistry {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** Internal id → public index in `publicNames`, or -1 for a market whose ticks are ignored. */
  readonly publicIndex: number[] = [];
  readonly publicNames: string[] = [];

  constructor(private readonly known: ReadonlySet<string> | undefined) {}

  intern(name: string): number {
    const existing = this.ids.get(name);
    if (existing !== undefined) return existing;
    const id = this.publicIndex.length;
    this.ids.set(name, id);
    this.names.push(name);
    if (this.known === undefined || this.known.has(name)) {
      this.publicIndex.push(this.publicNames.length);
      this.publicNames.push(name);
    } else {
      this.publicIndex.push(-1);
    }
    return id;
  }

  nameOf(id: number): string {
    return this.names[id] ?? `#${id}`;
  }

  get size(): number {
    return this.publicIndex.length;
  }
}

/** How many distinct market byte strings a file remembers before falling back to decoding. */
const CACHE_LIMIT = 64;

/**
 * Maps the bytes of a market field to an internal id without making a string per row: files
 * repeat a handful of names, so the bytes are compared with those seen before.
 */
export class MarketLookup {
  private readonly bytes: Uint8Array[] = [];
  /** The same names as little-endian 32-bit words (the whole ones), for a compare 4 bytes at a time. */
  private readonly words: Int32Array[] = [];
  private readonly ids: number[] = [];
  private last = -1;

  constructor(private readonly registry: MarketRegistry) {}

  /** Internal id of the (trimmed) field, or -1 when it is blank. */
  lookup(buf: Uint8Array, start: number, end: number): number {
    const s = trimStart(buf, start, end);
    const e = trimEnd(buf, s, end);
    if (s === e) return -1;
    const last = this.last;
    if (last >= 0 && this.matches(last, buf, s, e)) return this.ids[last]!;
    const n = this.bytes.length;
    for (let k = 0; k < n; k++) {
      if (k !== last && this.matches(k, buf, s, e)) {
        this.last = k;
        return this.ids[k]!;
      }
    }
    const slice = buf.slice(s, e);
    const id = this.registry.intern(Buffer.from(slice.buffer, slice.byteOffset, slice.length).toString('utf8'));
    if (n < CACHE_LIMIT) {
      this.bytes.push(slice);
      const view = new DataView(slice.buffer, slice.byteOffset, slice.length);
      this.words.push(Int32Array.from({ length: slice.length >> 2 }, (_, w) => view.getInt32(4 * w, true)));
      this.ids.push(id);
      this.last = n;
    }
    return id;
  }

  /**
   * Bytes of the name the latest lookup matched or cached (undefined before any): the byte
   * reader compares the next row's market field with it in place, fused with its scan.
   */
  get lastBytes(): Uint8Array | undefined {
    return this.last >= 0 ? this.bytes[this.last] : undefined;
  }

  /** `lastBytes` as whole little-endian 32-bit words (see `words`). */
  get lastWords(): Int32Array | undefined {
    return this.last >= 0 ? this.words[this.last] : undefined;
  }

  /** Internal id of `lastBytes`, or -1. */
  get lastId(): number {
    return this.last >= 0 ? this.ids[this.last]! : -1;
  }

  private matches(k: number, buf: Uint8Array, s: number, e: number): boolean {
    const known = this.bytes[k]!;
    const len = e - s;
    if (known.length !== len) return false;
    for (let i = 0; i < len; i++) if (known[i] !== buf[s + i]) return false;
    return true;
  }
}
