/** Where the splitter's messages go (the ingestion or bulk queue in production); an adapter implements it. */
export interface BatchPublisher {
  /** Queues one message; may buffer until `flush`. */
  publish(message: { id: string; body: string }): Promise<void>;
  flush(): Promise<void>;
}

/** Where request batches go: their messages, and the bodies too large for a message (the work bucket). */
export interface BatchSink extends BatchPublisher {
  /** Stores a request body exactly as given, under `key`; done before the message that points to it is queued. */
  storeBody(key: string, text: string): Promise<void>;
}

/** Where bulk parts and their messages go: the work bucket and the bulk queue in production. */
export interface BulkPartSink extends BatchPublisher {
  putPart(key: string, text: string): Promise<void>;
}
