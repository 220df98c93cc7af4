/** The front matter of one article file, as found in the wild (see ../shared/corpus/README.md). */
import { z } from 'zod';
import { parseIsoDate } from './text.js';

const text = z.union([z.string(), z.number()]).transform(String);

/** ISO 8601 text (or a YAML timestamp) → Date; anything else is an error that names the value. */
export const dateSchema = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const d = parseIsoDate(v);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: `not an ISO 8601 date: ${JSON.stringify(String(v)).slice(0, 60)}` });
    return z.NEVER;
  }
  return d;
});

export const imageSchema = z.object({
  url: z.string(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  isCached: z.boolean().optional(),
  title: text.optional(),
});

export const providerSchema = z.object({
  name: text,
  domain: z.string().optional(),
  images: z.array(z.unknown()).optional(),
});

/** A related item is checked on its own: a bad one is dropped, it never costs the article. */
export const relatedSchema = z.object({
  title: text,
  excerpt: text.optional(),
  publishedDateTime: z.unknown().optional(),
  webUrl: z.string().optional(),
  originalUrl: z.string().optional(),
  type: z.string().optional(),
  provider: z.object({ name: text.optional(), domain: z.string().optional() }).partial().optional(),
  quality: z.number().optional(),
  images: z.array(z.unknown()).optional(),
});

export const frontMatterSchema = z.object({
  category: z.string().optional(),
  title: text.refine((s) => s.trim().length > 0, 'must not be empty'),
  excerpt: text.optional(),
  publishedDateTime: dateSchema,
  webUrl: z.string().optional(),
  originalUrl: z.string().optional(),
  ampWebUrl: z.string().optional(),
  cdnAmpWebUrl: z.string().optional(),
  type: z.enum(['article', 'video']).default('article'),
  quality: z.number().min(0).optional(),
  heat: z.number().optional(),
  published: z.boolean().optional(),
  featuredContent: z.string().optional(),
  provider: providerSchema.optional(),
  topics: z.array(text).default([]),
  images: z.array(imageSchema).default([]),
  related: z.array(z.unknown()).nullish(),
});

export type RawArticle = z.infer<typeof frontMatterSchema>;
export type RawRelated = z.infer<typeof relatedSchema>;
