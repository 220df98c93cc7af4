/** Typed errors that keep their cause. The CLI prints the chain; nothing deep inside exits. */
export class GazetteError extends Error {
  /** What the failed work had done before it failed (a stopped send's counts), for whoever reports it. */
  readonly partial?: unknown;
  constructor(message: string, options?: { cause?: unknown; partial?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    if (options?.partial !== undefined) this.partial = options.partial;
  }
}

export class ConfigError extends GazetteError {}
export class ContentError extends GazetteError {}
export class TemplateError extends GazetteError {}
export class RenderError extends GazetteError {}
export class OutputError extends GazetteError {}
export class DeliveryError extends GazetteError {}
export class StoreError extends GazetteError {}
export class UsageError extends GazetteError {}

/** One line per error in the cause chain: "message ← cause ← cause". */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  const seen = new Set<unknown>();
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
