/** One data row of an input file, as field name → value, with where it came from. */
export interface SourceRecord {
  kind: "record";
  /** 1-based data row number (the header is not counted). */
  row: number;
  /** 1-based physical line where the row starts (rows can span lines). */
  line: number;
  /** Field → value: text from CSV (until a declared type converts it), JSON types from JSON inputs. */
  values: Record<string, unknown>;
}

/** A row that cannot be used, with a reason a person can act on. It is reported, never sent. */
export interface RowRejection {
  kind: "rejection";
  row: number;
  line: number;
  field?: string;
  reason: string;
}

export type SourceRow = SourceRecord | RowRejection;

/**
 * Sets a field as an own property whatever its name: a plain assignment to `__proto__` would replace the
 * object's prototype and silently drop the cell.
 */
export function setField<T>(values: Record<string, T>, name: string, value: T): void {
  if (name === "__proto__")
    Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
  else values[name] = value;
}
