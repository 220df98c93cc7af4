/** `gazette build`: load → select → feeds, OPML, subscribe page, digest previews → output folder. */
import { loadAndSelect, type Context } from './context.js';

export interface BuildOptions {
  strict?: boolean;
}

export async function buildCommand(ctx: Context, opts: BuildOptions): Promise<void> {
  await loadAndSelect(ctx, opts);
}
