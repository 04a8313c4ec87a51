import { WINDOW_EVENT_VERSION, type WindowFinishedDetail } from "../contracts/intake-window-event.ts";
import type { FileReport } from "./build-file-report.ts";
import { type IntakeWindowListing, producerMessageName } from "./intake-outcomes.ts";

/**
 * EventBridge takes an entry of at most 256 KB (detail, detail-type, source and resources together): the detail
 * keeps room for the rest and for the JSON escaping a consumer's rule never sees.
 */
export const WINDOW_EVENT_DETAIL_MAX_BYTES = 256 * 1024 - 2 * 1024;

/**
 * The event for a window whose report is final. Its counts are the report's; its id lists come from the report's
 * message listing, so the event, `report.json` and `status ID --message` agree. Lists that would push the event
 * over EventBridge's size are cut (failed first, then rejected, then dead-lettered, each in window order).
 */
export function windowFinishedDetail(
  report: FileReport,
  listing: IntakeWindowListing,
  bucket: string,
  reportKey: string,
  maxBytes = WINDOW_EVENT_DETAIL_MAX_BYTES,
): WindowFinishedDetail {
  if (report.status === "running") throw new Error("a window's event is published only once its report is final");
  const having = (state: "failed" | "rejected" | "dead-lettered") =>
    listing.messages.filter((m) => (m.records[state] ?? 0) > 0).map(producerMessageName);
  const all = { failed: having("failed"), rejected: having("rejected"), deadLettered: having("dead-lettered") };
  const detail: WindowFinishedDetail = {
    v: WINDOW_EVENT_VERSION,
    windowKey: report.file.key,
    windowId: listing.windowId,
    objectType: report.objectType,
    status: report.status,
    bucket,
    reportKey,
    messages: listing.messages.length,
    records: {
      read: report.rowsRead,
      accepted: report.accepted,
      rejected: report.rejected,
      failed: report.failed,
      deadLettered: report.deadLettered,
    },
    failedMessageIds: [],
    rejectedMessageIds: [],
    deadLetteredMessageIds: [],
    messageIdsTruncated: false,
    finishedAt: report.timings.reportedAt,
  };
  let bytes = Buffer.byteLength(JSON.stringify({ ...detail, messageIdsTruncated: true }));
  const fill = (ids: string[], into: string[]) => {
    for (const id of ids) {
      if (detail.messageIdsTruncated) return;
      // A JSON string and its separating comma.
      const size = Buffer.byteLength(JSON.stringify(id)) + 1;
      if (bytes + size > maxBytes) {
        detail.messageIdsTruncated = true;
        return;
      }
      bytes += size;
      into.push(id);
    }
  };
  fill(all.failed, detail.failedMessageIds);
  fill(all.rejected, detail.rejectedMessageIds);
  fill(all.deadLettered, detail.deadLetteredMessageIds);
  return detail;
}
