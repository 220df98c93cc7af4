/** File + environment → Config. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadYaml } from '../yaml.js';
import { configSchema, type Config, type Secrets } from './schema.js';
import { ConfigError } from '../errors.js';

export const DEFAULT_CONFIG_FILE = 'gazette.config.yaml';

/**
 * Validates a parsed config object; every problem is reported as `key.path: message`. A key the schema does not
 * have is named with the one it most likely meant (`schedule` at the top → `digest.schedules`).
 */
export function parseConfig(data: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(data ?? {});
  if (!result.success) {
    let unknown = false;
    const lines = result.error.issues.flatMap((i) => {
      const at = i.path.map(String);
      if (i.code !== 'unrecognized_keys') return [`  ${at.join('.') || '(top level)'}: ${i.message}`];
      unknown = true;
      return i.keys.map((key) => {
        const meant = didYouMean(at.filter((p) => !/^\d+$/.test(p)), key);
        return `  ${[...at, key].join('.')}: not a setting${meant ? `; did you mean ${meant}?` : ''}`;
      });
    });
    if (unknown) lines.push('  (every setting is in docs/config.md)');
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}

type Node = { shape?: Record<string, unknown>; _zod?: { def?: { innerType?: unknown; element?: unknown; options?: unknown[] } } };

/** Every setting's path (`digest.schedules`, `digest.schedules.cron`, `mail.dkim.keySelector`; list items as their list). */
function settingPaths(schema: unknown = configSchema, at: string[] = [], out: string[][] = []): string[][] {
  const z = schema as Node;
  const def = z._zod?.def;
  if (z.shape) {
    for (const [key, inner] of Object.entries(z.shape)) {
      out.push([...at, key]);
      settingPaths(inner, [...at, key], out);
    }
  } else if (def?.innerType) settingPaths(def.innerType, at, out);
  else if (def?.element) settingPaths(def.element, at, out);
  else if (def?.options) for (const o of def.options) settingPaths(o, at, out);
  return out;
}

/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours), case ignored. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The setting an unknown `key` under `parent` most likely meant: a name close to it (a typo, a plural, another
 * case, a shortened name) under the same parent — named alone — else the same or a close name anywhere (a key
 * put in the wrong section) — named by its whole path.
 */
export function didYouMean(parent: string[], key: string): string | undefined {
  const most = Math.max(1, Math.floor(key.length / 4));
  const lower = key.toLowerCase();
  let best: { path: string[]; score: number; sameParent: boolean } | undefined;
  for (const path of settingPaths()) {
    const name = path[path.length - 1]!;
    const shorter = Math.min(name.length, key.length);
    const d = shorter >= 4 && (name.toLowerCase().startsWith(lower) || lower.startsWith(name.toLowerCase())) ? 1 : distance(name, key);
    if (d > most) continue;
    const sameParent = path.length === parent.length + 1 && parent.every((p, i) => path[i] === p);
    // Under the same parent first, then the nearest name, then the shallowest setting.
    const score = (sameParent ? 0 : 100) + d * 10 + path.length;
    if (!best || score < best.score) best = { path, score, sameParent };
  }
  return best && (best.sameParent ? best.path[best.path.length - 1] : best.path.join('.'));
}

/**
 * Loads `path` when given (it must exist), else ./gazette.config.yaml when present, else the built-in
 * defaults. Returns the config and where it came from.
 */
export async function loadConfig(path?: string): Promise<{ config: Config; source: string }> {
  const file = path ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!file) return { config: parseConfig({}), source: 'built-in defaults' };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}`, { cause: err });
  }
  let data: unknown;
  try {
    data = loadYaml(text, { maxAliases: 100, filename: file });
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML`, { cause: err });
  }
  return { config: parseConfig(data, file), source: file };
}

export function loadSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  const pick = (k: string) => (env[k] && env[k]!.trim() ? env[k]!.trim() : undefined);
  return {
    smtpUrl: pick('SMTP_URL'),
    secret: pick('GAZETTE_SECRET'),
    previousSecrets: (pick('GAZETTE_SECRET_PREVIOUS') ?? '').split(/[\s,]+/).filter(Boolean),
    adminToken: pick('GAZETTE_ADMIN_TOKEN'),
    dkimKey: pick('GAZETTE_DKIM_KEY'),
  };
}
