import type { IncomingMessage } from "node:http";

/** Reads a body, keeping at most `cap + 1` bytes (enough to know it is too large) while draining the rest. */
export async function readCapped(req: IncomingMessage, cap: number): Promise<{ body: Buffer; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    if (bytes <= cap) chunks.push(buffer);
    bytes += buffer.length;
  }
  return { body: Buffer.concat(chunks), bytes };
}
