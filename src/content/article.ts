/** The normalized article every later stage works with. */
export interface Topic {
  name: string;
  slug: string;
}

export interface Image {
  url: string;
  width?: number;
  height?: number;
  alt: string;
}

export interface RelatedItem {
  title: string;
  url: string;
  source: string;
  excerpt: string;
  date?: Date;
}

export interface Article {
  /** The canonical URL: unique per story, used as the feed guid. */
  id: string;
  url: string;
  /** Path of the source file, relative to the content folder, with `/` separators. */
  file: string;
  title: string;
  excerpt: string;
  date: Date;
  type: 'article' | 'video';
  /** Undefined when the file has no `quality`; selection decides what that means. */
  quality?: number;
  heat?: number;
  /** Jekyll's rule: a missing `published` means published. */
  published: boolean;
  provider: { name: string; domain?: string };
  topics: Topic[];
  images: Image[];
  related: RelatedItem[];
  /** Raw embed HTML from the source; kept as data, never rendered. */
  featuredContent?: string;
  /**
   * Present on articles whose file was only scanned: parses the whole file now; false when it turned out
   * broken (reported), and then the article must not be used.
   */
  verify?(): boolean;
}

/** Whether an article may be used: true unless its deferred full parse finds the file broken. */
export function sound(a: Article): boolean {
  return a.verify ? a.verify() : true;
}

/** A problem with one file: which file, which field (when known) and why. */
export interface ContentIssue {
  file: string;
  field?: string;
  reason: string;
}
