/** What a nested call recorded in a dry run (the kernel adds `dry_run_actions` to an object answer). */
export function recordedBy(answer: unknown): string[] {
  const r =
    answer && typeof answer === 'object' ? (answer as { dry_run_actions?: unknown }).dry_run_actions : undefined;
  return Array.isArray(r) ? r.map(String) : [];
}
