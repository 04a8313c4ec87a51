export interface PackLimits {
  /** Most objects in one request (Data Ingestion: 1,000). */
  maxObjects: number;
  /** Most bytes of the serialized request body (Data Ingestion: 1 MB). */
  maxBytes: number;
}

/** A request body under construction: `prefix + items.join(",") + suffix`. */
export interface RequestFrame {
  prefix: string;
  suffix: string;
}

export interface PackedBatch<M> {
  /** The exact JSON body to send. */
  body: string;
  /** UTF-8 length of `body`. */
  bytes: number;
  /** What each packed item came with (row numbers, for instance), in order. */
  items: M[];
}

export interface PackableItem<M> {
  /** The item's JSON, exactly as it will appear in the body. */
  json: string;
  meta: M;
}

export class ItemTooLargeError extends Error {
  override readonly name = "ItemTooLargeError";
  constructor(
    readonly itemBytes: number,
    readonly maxItemBytes: number,
  ) {
    super(`item is ${itemBytes} bytes; at most ${maxItemBytes} fit in one request`);
  }
}

/**
 * Packs serialized items into request bodies greedily, in input order, closing a batch only when the next item
 * would break a limit. Sizes are counted on the exact UTF-8 bytes sent, so the limits are never exceeded, and for
 * an order-preserving split greedy packing needs the fewest requests.
 */
export class BatchPacker<M> {
  private readonly prefixBytes: number;
  private readonly suffixBytes: number;
  private jsons: string[] = [];
  private metas: M[] = [];
  private bytes: number;

  constructor(
    private readonly frame: RequestFrame,
    private readonly limits: PackLimits,
  ) {
    this.prefixBytes = Buffer.byteLength(frame.prefix);
    this.suffixBytes = Buffer.byteLength(frame.suffix);
    this.bytes = this.prefixBytes + this.suffixBytes;
    if (this.maxItemBytes <= 0) throw new Error("request frame alone exceeds the byte limit");
  }

  /** The largest single item that fits in a request. */
  get maxItemBytes(): number {
    return this.limits.maxBytes - this.prefixBytes - this.suffixBytes;
  }

  /** Adds an item; returns the batch it closed, if adding it closed one. Throws ItemTooLargeError if it never fits. */
  add(item: PackableItem<M>): PackedBatch<M> | undefined {
    const itemBytes = Buffer.byteLength(item.json);
    if (itemBytes > this.maxItemBytes) throw new ItemTooLargeError(itemBytes, this.maxItemBytes);
    let closed: PackedBatch<M> | undefined;
    const separator = this.jsons.length > 0 ? 1 : 0;
    if (this.jsons.length >= this.limits.maxObjects || this.bytes + separator + itemBytes > this.limits.maxBytes) {
      closed = this.flush();
    }
    this.bytes += (this.jsons.length > 0 ? 1 : 0) + itemBytes;
    this.jsons.push(item.json);
    this.metas.push(item.meta);
    return closed;
  }

  /** Closes the open batch, if it holds anything. */
  flush(): PackedBatch<M> | undefined {
    if (this.jsons.length === 0) return undefined;
    const batch: PackedBatch<M> = {
      body: this.frame.prefix + this.jsons.join(",") + this.frame.suffix,
      bytes: this.bytes,
      items: this.metas,
    };
    this.jsons = [];
    this.metas = [];
    this.bytes = this.prefixBytes + this.suffixBytes;
    return batch;
  }
}

/** Packs a whole sequence (convenience over BatchPacker for callers that hold the items). */
export function* packBatches<M>(
  items: Iterable<PackableItem<M>>,
  frame: RequestFrame,
  limits: PackLimits,
): Generator<PackedBatch<M>> {
  const packer = new BatchPacker<M>(frame, limits);
  for (const item of items) {
    const closed = packer.add(item);
    if (closed) yield closed;
  }
  const last = packer.flush();
  if (last) yield last;
}
