/** Issues as `path: problem; …` (paths joined by dots), short enough for a message attribute (1,024 characters). */
export function describeIssues(
  issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>,
  under: readonly PropertyKey[] = [],
): string {
  const shown = issues.slice(0, 5).map(({ path, message }) => {
    const at = [...under, ...path].map(String).join(".");
    return `${at || "(message)"}: ${message}`;
  });
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : "";
  return `${shown.join("; ")}${more}`.slice(0, 900);
}
