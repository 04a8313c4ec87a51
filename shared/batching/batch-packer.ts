import { z } from "zod";

export interface PackLimits {
  /** Most objects in one request (Data Ingestion: 1,000; program members: lead references across programs). */
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
  /** What each packed item came with (row numbers, for instance), in the order packed. */
  items: M[];
}

export interface PackableItem<M> {
  /** The item's JSON, exactly as it will appear in the body. */
  json: string;
  meta: M;
}

/** An item inside a group of the body, e.g. a member inside `programs[i].members`. */
export interface GroupedItem<M> extends PackableItem<M> {
  /** Items with the same key share one group. */
  groupKey: string;
  /** The group's JSON up to its items, e.g. `{"programId":1,"status":"Member","members":[`, and after them. */
  groupFrame: RequestFrame;
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

interface OpenGroup {
  frame: RequestFrame;
  jsons: string[];
}

/** The open batch of a packer whose items carry row numbers, saved so a later invocation packs on exactly. */
export const OpenBatchSchema = z.object({
  metas: z.array(z.number().int()),
  bytes: z.number().int().nonnegative(),
  groups: z.array(
    z.object({
      key: z.string(),
      frame: z.object({ prefix: z.string(), suffix: z.string() }),
      jsons: z.array(z.string()),
    }),
  ),
});
export type OpenBatch = z.infer<typeof OpenBatchSchema>;

const utf8Length = (text: string) => Buffer.byteLength(text);

/**
 * Packs serialized items into request bodies of the shape `prefix + groups.join(",") + suffix`, each group being
 * `groupFrame.prefix + items.join(",") + groupFrame.suffix`. Items go in input order, and a batch closes only
 * when the next item would break a limit. Sizes are counted on the exact UTF-8 bytes sent, so limits are never
 * exceeded; for an order-preserving split, greedy packing needs the fewest requests.
 */
export class GroupedBatchPacker<M> {
  private readonly frameBytes: number;
  private groups = new Map<string, OpenGroup>();
  private metas: M[] = [];
  private bytes: number;

  constructor(
    private readonly frame: RequestFrame,
    private readonly limits: PackLimits,
  ) {
    this.frameBytes = utf8Length(frame.prefix) + utf8Length(frame.suffix);
    this.bytes = this.frameBytes;
    if (this.frameBytes >= limits.maxBytes) throw new Error("request frame alone exceeds the byte limit");
  }

  /** Bytes an item adds to the current batch: a separator, and its group's frame when the group is new. */
  private costOf(item: GroupedItem<M>, itemBytes: number): number {
    const group = this.groups.get(item.groupKey);
    if (group) return 1 + itemBytes;
    const separator = this.groups.size > 0 ? 1 : 0;
    return separator + utf8Length(item.groupFrame.prefix) + utf8Length(item.groupFrame.suffix) + itemBytes;
  }

  /** Adds an item; returns the batch it closed, if adding it closed one. Throws ItemTooLargeError if it never fits. */
  add(item: GroupedItem<M>): PackedBatch<M> | undefined {
    const itemBytes = utf8Length(item.json);
    const alone = this.frameBytes + utf8Length(item.groupFrame.prefix) + utf8Length(item.groupFrame.suffix) + itemBytes;
    if (alone > this.limits.maxBytes) {
      throw new ItemTooLargeError(itemBytes, itemBytes - (alone - this.limits.maxBytes));
    }
    let closed: PackedBatch<M> | undefined;
    let cost = this.costOf(item, itemBytes);
    if (this.metas.length >= this.limits.maxObjects || this.bytes + cost > this.limits.maxBytes) {
      closed = this.flush();
      cost = this.costOf(item, itemBytes);
    }
    this.bytes += cost;
    const group = this.groups.get(item.groupKey);
    if (group) group.jsons.push(item.json);
    else this.groups.set(item.groupKey, { frame: item.groupFrame, jsons: [item.json] });
    this.metas.push(item.meta);
    return closed;
  }

  /** The open batch, to be restored into a packer with the same frame and limits. */
  save(this: GroupedBatchPacker<number>): OpenBatch {
    const groups = [...this.groups].map(([key, group]) => ({ key, frame: group.frame, jsons: [...group.jsons] }));
    return { metas: [...this.metas], bytes: this.bytes, groups };
  }

  restore(this: GroupedBatchPacker<number>, open: OpenBatch): void {
    this.groups = new Map(open.groups.map((group) => [group.key, { frame: group.frame, jsons: [...group.jsons] }]));
    this.metas = [...open.metas];
    this.bytes = open.bytes;
  }

  /** Closes the open batch, if it holds anything. */
  flush(): PackedBatch<M> | undefined {
    if (this.metas.length === 0) return undefined;
    const groups = [...this.groups.values()].map((g) => g.frame.prefix + g.jsons.join(",") + g.frame.suffix);
    const batch: PackedBatch<M> = {
      body: this.frame.prefix + groups.join(",") + this.frame.suffix,
      bytes: this.bytes,
      items: this.metas,
    };
    this.groups = new Map();
    this.metas = [];
    this.bytes = this.frameBytes;
    return batch;
  }
}

/** UTF-8 bytes per UTF-16 code unit, at most: 3 in the BMP; a surrogate pair is 4 bytes for 2 units. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * The flat case: `prefix + items.join(",") + suffix` (persons, custom objects, companies). The same rules as
 * GroupedBatchPacker with one unnamed group, written without groups: it runs once per row of every file.
 * Items are sized by an upper bound (3 bytes per UTF-16 unit) while the batch is clearly within its byte limit, and
 * counted exactly only once it may not be: measuring every row's UTF-8 length was a native call per row, while
 * most batches close on maxObjects long before their bytes matter. Decisions and counts stay exact.
 */
export class BatchPacker<M> {
  private readonly frameBytes: number;
  /** The largest single item that fits in a request. */
  readonly maxItemBytes: number;
  private jsons: string[] = [];
  private metas: M[] = [];
  /** Exact bytes of the frame and of the first `measured` items with their separators. */
  private exactBytes: number;
  private measured = 0;
  /** Upper bound of the bytes the items after the first `measured` add, separators included. */
  private unmeasuredBound = 0;

  constructor(
    private readonly frame: RequestFrame,
    private readonly limits: PackLimits,
  ) {
    this.frameBytes = utf8Length(frame.prefix) + utf8Length(frame.suffix);
    if (this.frameBytes >= limits.maxBytes) throw new Error("request frame alone exceeds the byte limit");
    this.exactBytes = this.frameBytes;
    this.maxItemBytes = limits.maxBytes - this.frameBytes;
  }

  add(item: PackableItem<M>): PackedBatch<M> | undefined {
    const units = item.json.length;
    let itemBytes: number | undefined;
    // At least one byte per unit: longer than the limit in units is too large in bytes.
    if (units * MAX_UTF8_BYTES_PER_UNIT > this.maxItemBytes) {
      itemBytes = utf8Length(item.json);
      if (itemBytes > this.maxItemBytes) throw new ItemTooLargeError(itemBytes, this.maxItemBytes);
    }
    let closed: PackedBatch<M> | undefined;
    if (this.metas.length >= this.limits.maxObjects) {
      closed = this.flush();
    } else if (
      this.metas.length > 0 &&
      this.exactBytes + this.unmeasuredBound + 1 + units * MAX_UTF8_BYTES_PER_UNIT > this.limits.maxBytes
    ) {
      // It may not fit: count exactly what the batch holds, and the item.
      this.measureAll();
      itemBytes ??= utf8Length(item.json);
      if (this.exactBytes + 1 + itemBytes > this.limits.maxBytes) closed = this.flush();
    }
    const separator = this.metas.length > 0 ? 1 : 0;
    if (itemBytes !== undefined && this.measured === this.metas.length) {
      this.exactBytes += separator + itemBytes;
      this.measured++;
    } else {
      this.unmeasuredBound += separator + units * MAX_UTF8_BYTES_PER_UNIT;
    }
    this.jsons.push(item.json);
    this.metas.push(item.meta);
    return closed;
  }

  /** The open batch (one unnamed group), to be restored into a packer with the same frame and limits. */
  save(this: BatchPacker<number>): OpenBatch {
    // Saved exact: the packer closes batches on exact sizes whatever it had measured, so the restored one agrees.
    this.measureAll();
    return {
      metas: [...this.metas],
      bytes: this.exactBytes,
      groups: [{ key: "", frame: this.frame, jsons: [...this.jsons] }],
    };
  }

  restore(this: BatchPacker<number>, open: OpenBatch): void {
    this.jsons = open.groups.flatMap((group) => group.jsons);
    this.metas = [...open.metas];
    this.exactBytes = open.bytes;
    this.measured = this.jsons.length;
    this.unmeasuredBound = 0;
  }

  flush(): PackedBatch<M> | undefined {
    if (this.metas.length === 0) return undefined;
    // The frame joins the end items rather than wrapping the joined text: `prefix + joined + suffix` would be a
    // rope that the byte count (and every later reader) flattens, copying the whole body once more.
    const last = this.jsons.length - 1;
    this.jsons[0] = this.frame.prefix + (this.jsons[0] as string);
    this.jsons[last] = (this.jsons[last] as string) + this.frame.suffix;
    const body = this.jsons.join(",");
    // One count of the whole body instead of one per unmeasured item.
    const bytes = this.measured === this.metas.length ? this.exactBytes : utf8Length(body);
    const batch: PackedBatch<M> = { body, bytes, items: this.metas };
    this.jsons = [];
    this.metas = [];
    this.exactBytes = this.frameBytes;
    this.measured = 0;
    this.unmeasuredBound = 0;
    return batch;
  }

  private measureAll(): void {
    for (let i = this.measured; i < this.jsons.length; i++) {
      this.exactBytes += (i > 0 ? 1 : 0) + utf8Length(this.jsons[i] as string);
    }
    this.measured = this.jsons.length;
    this.unmeasuredBound = 0;
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
