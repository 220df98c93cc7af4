/** YAML as data, for the config and the articles: js-yaml's YAML 1.2 core schema, with an alias guard. */
import yaml from 'js-yaml';

const ALIAS = /(?:^|[\s,[{:-])\*[^\s,\]}]+/g;

export interface YamlOptions {
  /** More aliases than this and the text is refused unparsed: a "billion laughs" bomb. */
  maxAliases: number;
  /** Duplicate keys: the last one wins (true) or they are an error (false). */
  json?: boolean;
  /** Named in error messages. */
  filename?: string;
}

/** Core schema: plain data only; dates stay text (they go through our own ISO 8601 parser). */
export function loadYaml(text: string, opts: YamlOptions): unknown {
  if (text.includes('*') && (text.match(ALIAS)?.length ?? 0) > opts.maxAliases) {
    throw new Error(`more than ${opts.maxAliases} YAML aliases (alias bomb?)`);
  }
  return yaml.load(text, { schema: yaml.CORE_SCHEMA, json: opts.json ?? false, filename: opts.filename });
}
