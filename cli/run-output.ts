import { closeSync, openSync, writeSync } from "node:fs";
import type { LocalRunProgress } from "../local/run-pipeline-locally.ts";
import type { LogRecord, LogSink } from "../shared/lambda/logger.ts";
import { humanLogLine } from "./log-lines.ts";

/** Where the run's lines go: stderr, which may be a terminal. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface RunOutputOptions {
  stream: OutputStream;
  /** Print every handler log item as its raw JSON line too. */
  verbose: boolean;
  /** Write every handler log item as a JSON line to this file (created or truncated). */
  logFile?: string;
}

const n = (value: number): string => value.toLocaleString("en-US");

/** Clears the current terminal line (the progress line) before something else is written there. */
const CLEAR_LINE = "\r\x1b[2K";

/**
 * What a person running the CLI sees on stderr while a file runs: progress, and the handlers' warnings as short
 * sentences. On a terminal the progress is one line rewritten in place (other lines are printed above it);
 * elsewhere (CI logs, pipes) progress is a few plain lines. The handlers' JSON log items go to `--log FILE`, and
 * to the terminal only with `--verbose`.
 */
export class RunOutput {
  private readonly tty: boolean;
  private logFd: number | undefined;
  private progressLine = "";
  private lastQuarter = -1;

  constructor(private readonly options: RunOutputOptions) {
    this.tty = options.stream.isTTY === true;
    // Opened now, so a path that cannot be written fails before anything runs.
    this.logFd = options.logFile === undefined ? undefined : openSync(options.logFile, "w");
  }

  /** The sink for `setLogSink`: every log item of every handler of this process. */
  readonly sink: LogSink = (record: LogRecord, jsonLine: string) => {
    if (this.logFd !== undefined) writeSync(this.logFd, `${jsonLine}\n`);
    if (this.options.verbose) this.line(jsonLine);
    const sentence = humanLogLine(record);
    if (sentence !== undefined) this.line(`  ${sentence}`);
  };

  /** A line above the progress line (which is drawn again under it). */
  line(text: string): void {
    if (this.tty && this.progressLine) {
      this.options.stream.write(`${CLEAR_LINE}${text}\n${this.progressLine}`);
    } else this.options.stream.write(`${text}\n`);
  }

  progress(progress: LocalRunProgress): void {
    if (progress.phase === "upload") {
      const size = progress.bytes < 1024 ? `${n(progress.bytes)} bytes` : `${n(Math.round(progress.bytes / 1024))} KiB`;
      this.line(`  uploaded ${size} to the drop bucket`);
      return;
    }
    if (progress.phase === "split") {
      this.line(
        `  split: ${n(progress.rowsRead)} rows read, ${n(progress.rowsRejected)} rejected, ${n(progress.batches)} batches queued (${progress.status})${progress.invocations > 1 ? `, in ${n(progress.invocations)} splitter invocations (paused and went on)` : ""}`,
      );
      return;
    }
    const text = `  rows read ${n(progress.rowsRead)} · requests ${n(progress.batchesDone)}/${n(progress.batches)} · accepted ${n(progress.accepted)}`;
    if (this.tty) {
      this.progressLine = text;
      this.options.stream.write(`${CLEAR_LINE}${text}`);
      return;
    }
    // Piped: a line per quarter of the batches, so a CI log stays short.
    const quarter = progress.batches ? Math.floor((progress.batchesDone / progress.batches) * 4) : 4;
    if (quarter > this.lastQuarter) {
      this.lastQuarter = quarter;
      this.line(text);
    }
  }

  /** Ends the progress line (the summary starts on a line of its own) and closes the log file. */
  close(): void {
    if (this.tty && this.progressLine) this.options.stream.write("\n");
    this.progressLine = "";
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
  }
}
