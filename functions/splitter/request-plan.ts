import {
  BatchPacker,
  GroupedBatchPacker,
  type PackedBatch,
  type OpenBatch,
  type PackLimits,
  type RequestFrame,
} from "../../shared/batching/batch-packer.ts";
import type { FileOptions, ResolvedOptions } from "../../shared/options/file-options.ts";
import { createRecordPreparer, type Preparation } from "../../shared/options/record-rules.ts";

export type PreparedRecord = Extract<Preparation, { ok: true }>;

/** Packs prepared rows into request bodies of one object type; `meta` is the row number. */
export interface RowPacker {
  add(record: PreparedRecord, row: number): PackedBatch<number> | undefined;
  flush(): PackedBatch<number> | undefined;
  /** The open batch, for a checkpoint (undefined: nothing open); `createPacker(limits, saved)` packs on from it. */
  save(): SavedPacker | undefined;
}

/** A packer's open batch; lists also name the list it is for. */
export interface SavedPacker {
  listId?: number;
  open: OpenBatch;
}

/** How one file's rows become requests: the per-row rules and the body shape of its endpoint. */
export interface RequestPlan {
  prepare(values: Record<string, unknown>): Preparation;
  createPacker(limits: PackLimits, saved?: SavedPacker): RowPacker;
}

/** Request members other than the objects, in Marketo's wire shape, and the member that holds the objects. */
export function requestHeader(options: ResolvedOptions): { header: Record<string, unknown>; arrayKey: string } {
  switch (options.objectType) {
    case "persons": {
      const header: Record<string, unknown> = {};
      if (options.priority) header.priority = options.priority;
      if (options.partitionName) header.partitionName = options.partitionName;
      if (options.dedupeFields) {
        const [field1, field2] = options.dedupeFields;
        header.dedupeFields = field2 ? { field1, field2 } : { field1 };
      }
      return { header, arrayKey: "persons" };
    }
    case "customobjects":
      return {
        header: { ...(options.priority ? { priority: options.priority } : {}), dedupeBy: options.dedupeBy },
        arrayKey: "customObjects",
      };
    case "companies":
      return { header: { action: options.action, dedupeBy: options.dedupeBy }, arrayKey: "input" };
    case "lists":
    case "lists/remove":
      // The body's listId is each row's list (a request holds one): the packer opens each request with it.
      return { header: {}, arrayKey: "leads" };
    default:
      return { header: {}, arrayKey: "programs" };
  }
}

function openingFrame(header: Record<string, unknown>, arrayKey: string): RequestFrame {
  const head = JSON.stringify(header).slice(0, -1);
  return { prefix: `${head}${head.length > 1 ? "," : ""}${JSON.stringify(arrayKey)}:[`, suffix: "]}" };
}

/**
 * `{"listId":…,"leads":[…]}` requests: the body names one list, so a row of another list closes the open
 * request. Within a list, rows pack greedily in file order like any other.
 */
function createListPacker(arrayKey: string, limits: PackLimits, saved: SavedPacker | undefined): RowPacker {
  let open: { listId: number; packer: BatchPacker<number> } | undefined;
  if (saved?.listId !== undefined) {
    open = {
      listId: saved.listId,
      packer: new BatchPacker<number>(openingFrame({ listId: saved.listId }, arrayKey), limits),
    };
    open.packer.restore(saved.open);
  }
  return {
    save: () => (open ? { listId: open.listId, open: open.packer.save() } : undefined),
    add: (record, row) => {
      const listId = record.listId as number;
      const item = { json: JSON.stringify(record.object), meta: row };
      if (open?.listId === listId) return open.packer.add(item);
      const next = { listId, packer: new BatchPacker<number>(openingFrame({ listId }, arrayKey), limits) };
      // Added before the open request closes: a row too large for any request throws with nothing lost.
      next.packer.add(item);
      const closed = open?.packer.flush();
      open = next;
      return closed;
    },
    flush: () => open?.packer.flush(),
  };
}

/**
 * The plan for a file: `text` is true for delimited files (values are text until declared otherwise).
 * Every piece of a body is `JSON.stringify` output, so the packer counts the raw UTF-8 bytes the sender sends.
 * Program members are grouped into `programs[].members[]` by program and status, with the 1,000 limit counting
 * lead references across all programs of a request. List rows go one list per request.
 */
export function planRequests(options: FileOptions, text: boolean): RequestPlan {
  const prepare = createRecordPreparer(options.request, options.fieldTypes, text);
  const { header, arrayKey } = requestHeader(options.request);
  const frame = openingFrame(header, arrayKey);
  const type = options.request.objectType;
  const grouped = type === "programmembers" || type === "programmembers/delete";
  return {
    prepare,
    createPacker: (limits, saved) => {
      if (type === "lists" || type === "lists/remove") return createListPacker(arrayKey, limits, saved);
      if (!grouped) {
        const packer = new BatchPacker<number>(frame, limits);
        if (saved) packer.restore(saved.open);
        return {
          save: () => ({ open: packer.save() }),
          add: (record, row) => packer.add({ json: JSON.stringify(record.object), meta: row }),
          flush: () => packer.flush(),
        };
      }
      const packer = new GroupedBatchPacker<number>(frame, limits);
      if (saved) packer.restore(saved.open);
      return {
        save: () => ({ open: packer.save() }),
        add: (record, row) => {
          const program = record.program as { programId: number; status?: string };
          const head = JSON.stringify(program).slice(0, -1);
          return packer.add({
            json: JSON.stringify(record.object),
            meta: row,
            groupKey: head,
            groupFrame: { prefix: `${head},"members":[`, suffix: "]}" },
          });
        },
        flush: () => packer.flush(),
      };
    },
  };
}
