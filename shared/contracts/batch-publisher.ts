/** Where the splitter's messages go (the ingestion or bulk queue in production); an adapter implements it. */
export interface BatchPublisher {
  /** Queues one message; may buffer until `flush`. */
  publish(message: { id: string; body: string }): Promise<void>;
  flush(): Promise<void>;
}

/** Where bulk parts and their messages go: the work bucket and the bulk queue in production. */
export interface BulkPartSink extends BatchPublisher {
  putPart(key: string, text: string): Promise<void>;
}
