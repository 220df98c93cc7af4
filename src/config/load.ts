/** File + environment → Config. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadYaml } from '../yaml.js';
import { configSchema, type Config, type Secrets } from './schema.js';
import { ConfigError } from '../errors.js';

export const DEFAULT_CONFIG_FILE = 'gazette.config.yaml';

/** Validates a parsed config object; every problem is reported as `key.path: message`. */
export function parseConfig(data: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(data ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
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
    adminToken: pick('GAZETTE_ADMIN_TOKEN'),
    dkimKey: pick('GAZETTE_DKIM_KEY'),
  };
}
