/** A problem the user can fix, said in one sentence; the CLI prints it and exits 2 (usage) or 1. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
