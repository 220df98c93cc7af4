/** `gazette check`: load and validate config and content, print the report, write nothing. */
import { loadAndSelect, type Context } from './context.js';

export async function checkCommand(ctx: Context, opts: { strict?: boolean }): Promise<void> {
  ctx.log(`config: ${ctx.configSource}`);
  // A file the config names is the config's to check too (a build would fail on it).
  if (ctx.config.site.icon) (await import('./site.js')).siteIcon(ctx);
  const { topics, selection } = await loadAndSelect(ctx, { ...opts, full: true });
  for (const t of selection.topics) ctx.log(`  ${t.topic.slug.padEnd(28)} ${String(t.articles.length).padStart(4)} ${t.articles.length === 1 ? 'item ' : 'items'}  ${t.topic.name}`);
  if (topics.length === 0) ctx.log('  (no topics)');
}
