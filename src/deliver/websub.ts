/**
 * WebSub publishing (https://www.w3.org/TR/websub/): tells a hub which feeds changed, so that it fetches them and
 * pushes the new items to the feed readers subscribed through it, within seconds instead of at their next poll.
 * The W3C recommendation leaves how a publisher notifies its hub to the hub; this is the form hubs take
 * (Google's, Superfeedr, WebSub.rocks): one `POST` of `hub.mode=publish&hub.url=<feed URL>` per feed, answered
 * with a 2xx. I/O only; what to ping is decided by the caller.
 */

export interface HubFailure {
  url: string;
  reason: string;
}

export interface HubOptions {
  /** Per request (default 10 s): a hub that does not answer must not hold a build up for long. */
  timeoutMs?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
}

/**
 * Pings `hub` for each of `urls`; the ones it did not take, each with the reason. Never throws. Once the hub
 * cannot be reached (no connection, no answer in time), the feeds not yet tried are not: a hub that is down
 * costs one timeout, not one per feed.
 */
export async function publishToHub(hub: string, urls: readonly string[], opts: HubOptions = {}): Promise<HubFailure[]> {
  const failed: HubFailure[] = [];
  const queue = [...urls];
  let down: string | undefined;
  const one = async (url: string) => {
    if (down) {
      failed.push({ url, reason: `not tried: ${down}` });
      return;
    }
    try {
      const res = await fetch(hub, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'hub.mode': 'publish', 'hub.url': url }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined); // the connection is reused only once the body is read
      if (!res.ok) failed.push({ url, reason: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `no answer in ${(opts.timeoutMs ?? 10_000) / 1000} s` : (e.cause?.message ?? e.cause?.code ?? e.message);
      down ??= `the hub did not answer (${reason})`;
      failed.push({ url, reason });
    }
  };
  const worker = async () => {
    for (let url = queue.shift(); url !== undefined; url = queue.shift()) await one(url);
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, urls.length) }, worker));
  // In the order asked, whatever order the answers came in.
  return failed.sort((a, b) => urls.indexOf(a.url) - urls.indexOf(b.url));
}
