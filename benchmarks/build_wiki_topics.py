"""Build eval/sets/wiki-topics/: topic documents made of Wikipedia abstracts from the DBpedia BEIR subset.

Each document gathers the abstracts judged relevant to one DBPedia-entity query (astronauts who walked on the
Moon, Formula 1 drivers who won at Monaco, ...): one section per abstract, under the entity's title. Siblings
of one topic share most of their words, so a question about one of them has near misses in the same document,
which is what a reader must tell apart. The labelled questions in ``eval/sets/wiki-topics.jsonl`` were written
against these files.

    .venv/bin/python benchmarks/build_wiki_topics.py [--source ../shared/external/beir/dbpedia]

Deterministic: the same source writes the same bytes. Abstracts are cleaned of DBpedia's export debris (a
trailing ``@en <url> .`` and a second abstract glued after it) and of the missing space after a sentence's
full stop (``associated.The``).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval" / "sets" / "wiki-topics"
MIN_SECTIONS, MAX_SECTIONS = 6, 12
MIN_CHARS = 150

# File name and title of each topic document, by the slug of its DBPedia query: the queries are search keywords
# ("North Dakota's lowest river of another colour"), and some name facts the abstracts never state.
TOPICS = {
    "airlines-that-currently-use-boeing-747-planes": ("boeing-747-airlines", "Airlines that fly the Boeing 747"),
    "airsoft-glock": ("airsoft-and-glock", "Airsoft guns and the Glock pistol"),
    "apollo-astronauts-who-walked-on-the-moon": ("apollo-astronauts", "Apollo astronauts"),
    "asian-port-state-city-sir-stamford-raffles": ("singapore-and-raffles", "Singapore and Stamford Raffles"),
    "astronauts-who-landed-on-the-moon": ("moonwalkers", "Astronauts who landed on the Moon"),
    "b-f-skinner": ("b-f-skinner", "B. F. Skinner"),
    "beach-flowers": ("beach-flowers", "Beach flowers"),
    "bicycle-sport-disciplines": ("cycling-disciplines", "Cycling sport disciplines"),
    "coastal-carolina": ("coastal-carolina", "Coastal Carolina"),
    "famous-historical-battlefields-opponents-fought": ("historic-battlefields", "Historic battlefields"),
    "fifa-world-cup-national-team-winners-since-1974": ("world-cup-winners", "FIFA World Cup winners since 1974"),
    "formula-1-drivers-that-won-the-monaco-grand-prix": ("monaco-grand-prix", "The Monaco Grand Prix and its drivers"),
    "gallo-roman-architecture-in-paris": ("gallo-roman-paris", "Gallo-Roman Paris"),
    "guitar-chord-tuning": ("guitar-tunings", "Guitar tunings"),
    "john-turturro-1991-coen-brothers-film": ("coen-brothers-films", "John Turturro and the Coen brothers"),
    "keith-urban": ("keith-urban", "Keith Urban"),
    "laura-bush": ("laura-bush", "Laura Bush and the Bush family"),
    "list-all-episodes-of-the-first-season-of-the-hbo-television-": ("sopranos-season-one", "The Sopranos, season one"),
    "most-famous-civic-military-airports": ("civil-military-airports", "Civil and military airports"),
    "national-capitals-situated-on-islands": ("island-capitals", "Capitals on islands"),
    "national-parks-east-coast-canada-us": ("east-coast-national-parks",
                                            "National parks of the North American east coast"),
    "nations-where-portuguese-is-an-official-language": ("portuguese-speaking-countries",
                                                         "Portuguese-speaking countries"),
    "north-dakota-s-lowest-river-of-another-colour": ("north-dakota-rivers", "Rivers of North Dakota"),
    "prime-minister-canada-nicknamed-silver-tongued-laurier-longe": ("canadian-prime-ministers",
                                                                     "Prime ministers of Canada"),
    "tango-dance-history": ("tango", "Tango"),
    "twelve-tribes-or-sons-of-israel": ("tribes-of-israel", "The tribes of Israel"),
    "which-actors-were-born-in-germany": ("german-born-actors", "Actors born in Germany"),
    "which-european-countries-have-a-constitutional-monarchy": ("european-monarchies",
                                                                "European constitutional monarchies"),
    "which-monarchs-of-the-united-kingdom-were-married-to-a-germa": ("british-monarchs-and-consorts",
                                                                     "British monarchs and their consorts"),
    "who-is-the-governor-of-texas": ("texas-governors", "Governors of Texas"),
}

_DEBRIS = re.compile(r"\s*@en\s*<http.*", re.S)
_GLUED = re.compile(r"(?<=[a-z\)\]”\"])\.(?=[A-Z][a-z])")


def clean(text: str) -> str:
    text = _DEBRIS.sub("", text)
    text = _GLUED.sub(". ", text)
    return re.sub(r"\s+", " ", text).strip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def build(source: Path, out: Path) -> list[Path]:
    docs = {}
    for line in (source / "corpus.jsonl").read_text("utf-8").split("\n"):
        if line.strip():
            d = json.loads(line)
            docs[d["_id"]] = d
    queries = {}
    for line in (source / "queries.jsonl").read_text("utf-8").split("\n"):
        if line.strip():
            q = json.loads(line)
            queries[q["_id"]] = q["text"]
    relevant: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in (source / "qrels" / "test.tsv").read_text("utf-8").split("\n")[1:]:
        if row.strip():
            qid, did, score = row.split("\t")
            if int(score) > 0 and did in docs:
                relevant[qid].append((int(score), did))
    used: set[str] = set()
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for qid in sorted(relevant):
        picked = []
        for _, did in sorted(relevant[qid], key=lambda sd: (-sd[0], sd[1])):
            text = clean(docs[did]["text"])
            if did in used or len(text) < MIN_CHARS:
                continue
            picked.append((docs[did]["title"], text, docs[did]["metadata"]["url"].strip("<>")))
            used.add(did)
            if len(picked) == MAX_SECTIONS:
                break
        if len(picked) < MIN_SECTIONS:
            continue
        name, topic = TOPICS[slug(queries[qid].strip().rstrip("!?."))]
        lines = [f"# {topic}", ""]
        for title, text, url in picked:
            lines += [f"## {title}", "", text, "", f"Source: {url}", ""]
        path = out / f"{name}.md"
        path.write_text("\n".join(lines), "utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "external" / "beir" / "dbpedia")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for path in build(args.source, args.out):
        print(path.relative_to(ROOT), path.stat().st_size)


if __name__ == "__main__":
    main()
