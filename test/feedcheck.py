"""Reads feeds with Python's feedparser (as a feed reader does) and reports what it saw as JSON.

Usage: /usr/bin/python3 test/feedcheck.py FILE...
For each file: bozo flag and exception, feed version, title, links, entries (id, link, title, summary,
published, authors, tags, enclosures), and every HTML element/attribute found in entry content and
summary (parsed with html.parser, feedparser's own sanitizer switched off so nothing is hidden).
XML files are also parsed with ElementTree, which fails on undeclared namespace prefixes.
"""
import json
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append([tag, [[k, v] for k, v in attrs]])


def html_tags(value):
    p = Tags()
    p.feed(value or "")
    return p.tags


out = {}
for path in sys.argv[1:]:
    report = {}
    if path.endswith(".xml") or path.endswith(".opml"):
        try:
            ET.parse(path)
            report["wellFormed"] = True
        except ET.ParseError as e:
            report["wellFormed"] = False
            report["xmlError"] = str(e)
    if path.endswith(".opml"):
        out[path] = report
        continue
    d = feedparser.parse(path, sanitize_html=False, resolve_relative_uris=False)
    report.update({
        "bozo": int(d.bozo),
        "bozoException": str(d.get("bozo_exception", "")) if d.bozo else "",
        "version": d.version,
        "title": d.feed.get("title"),
        "link": d.feed.get("link"),
        "links": [{"rel": l.get("rel"), "href": l.get("href"), "type": l.get("type")} for l in d.feed.get("links", [])],
        "language": d.feed.get("language"),
        "updated": d.feed.get("updated"),
        "entries": [],
    })
    for e in d.entries:
        contents = [c.get("value", "") for c in e.get("content", [])]
        report["entries"].append({
            "id": e.get("id"),
            "link": e.get("link"),
            "title": e.get("title"),
            "summary": e.get("summary"),
            "published": e.get("published_parsed") and list(e.published_parsed)[:6],
            "author": e.get("author"),
            "tags": [t.get("term") for t in e.get("tags", [])],
            "enclosures": [{"href": x.get("href"), "type": x.get("type")} for x in e.get("enclosures", [])],
            "media": [{"url": m.get("url"), "type": m.get("type")} for m in e.get("media_content", [])],
            "htmlTags": [t for c in contents + [e.get("summary", "")] for t in html_tags(c)],
        })
    out[path] = report
json.dump(out, sys.stdout, indent=1)
