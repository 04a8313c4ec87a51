import type { BulkRoute } from "../options/bulk-route.ts";
import type { ObjectRoute } from "../options/object-route.ts";
import type { Clock } from "../time/clock.ts";
import { describePathsFor, type MarketoField } from "./describe-client.ts";

/** Marketo's field list for a route's object, as the splitter's arrival check reads it. */
export interface FieldLists {
  fieldsFor(route: ObjectRoute | BulkRoute): Promise<MarketoField[]>;
}

/** Fields change rarely; a field added in Marketo is seen by a warm splitter within this long. */
export const DEFAULT_FIELD_LIST_TTL_MS = 15 * 60_000;

/**
 * The describe answers of one Marketo instance, kept per container for `ttlMs`: a drop of many files asks Marketo
 * once per object, not once per file. A failed describe is not kept, so the next file asks again.
 */
export class CachedFieldLists implements FieldLists {
  private readonly entries = new Map<string, { fields: MarketoField[]; fetchedAt: number }>();

  constructor(
    private readonly describe: (path: string) => Promise<MarketoField[]>,
    private readonly options: { ttlMs: number; clock: Clock },
  ) {}

  async fieldsFor(route: ObjectRoute | BulkRoute): Promise<MarketoField[]> {
    const lists = await Promise.all(describePathsFor(route).map((path) => this.fieldsAt(path)));
    return lists.flat();
  }

  private async fieldsAt(path: string): Promise<MarketoField[]> {
    const now = this.options.clock.now();
    const cached = this.entries.get(path);
    if (cached && now - cached.fetchedAt < this.options.ttlMs) return cached.fields;
    const fields = await this.describe(path);
    this.entries.set(path, { fields, fetchedAt: now });
    return fields;
  }
}
