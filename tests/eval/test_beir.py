"""BEIR-format evaluation end to end on a tiny dataset the test writes: ingest, index, search, score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from footnote.cli import main
from footnote.errors import InputError
from footnote.eval.beir import load_beir, run_beir, write_corpus

TOPICS = [
    ("Honeybees", "Honeybees perform a waggle dance to tell hive mates where nectar flowers are."),
    ("Volcanoes", "Basaltic lava from shield volcanoes flows far because it has low viscosity."),
    ("Glaciers", "Glaciers carve U-shaped valleys as moving ice grinds the bedrock beneath it."),
    ("Octopuses", "An octopus changes skin colour with chromatophores to hide from predators."),
    ("Sourdough", "Sourdough bread rises thanks to wild yeast and lactobacilli in a starter culture."),
    ("Lighthouses", "Fresnel lenses let lighthouse beams reach ships many nautical miles offshore."),
    ("Chess", "The Sicilian Defence answers the king's pawn opening with the c-pawn."),
    ("Saturn", "Saturn's rings are made mostly of water ice particles orbiting the planet."),
    ("Tea", "Green tea leaves are steamed or pan-fired to stop oxidation after picking."),
    ("Bicycles", "A derailleur moves the bicycle chain between sprockets to change gears."),
    ("Penguins", "Emperor penguins huddle together to survive the Antarctic winter."),
    ("Origami", "Origami cranes are folded from a single square sheet without cuts."),
    ("Coral", "Coral reefs bleach when warm water makes polyps expel their symbiotic algae."),
    ("Violins", "Violin strings vibrate and the spruce top amplifies the sound."),
    ("Cheese", "Rennet curdles milk so that cheese makers can separate curds from whey."),
    ("Tides", "Ocean tides follow the gravitational pull of the Moon and the Sun."),
    ("Bamboo", "Some bamboo species grow almost a metre in a single day."),
    ("Compasses", "A magnetic compass needle aligns with the Earth's magnetic field."),
    ("Espresso", "Espresso forces hot water through finely ground coffee at high pressure."),
    ("Comets", "A comet's tail points away from the Sun, pushed by the solar wind."),
]
QUERIES = {
    "q1": "How do bees communicate where the nectar flowers are?",
    "q2": "why does basaltic lava flow so far",
    "q3": "What makes sourdough bread rise?",
    "q4": "what are saturn's rings made of",
    "q5": "how do cheese makers separate curds from whey",
}
QRELS = [("q1", "doc-0", 1), ("q2", "doc-1", 1), ("q3", "doc-4", 1), ("q4", "doc-7", 2), ("q4", "doc-15", 0),
         ("q5", "doc-14", 1), ("q-none", "doc-3", 0)]


@pytest.fixture(scope="module")
def beir_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("beir") / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": f"doc-{i}", "title": title, "text": text}) + "\n" for i, (title, text) in enumerate(TOPICS)),
        "utf-8")
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": qid, "text": text}) + "\n" for qid, text in {**QUERIES, "q-none": "x"}.items()), "utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS), "utf-8")
    return folder


def test_loader_and_files(beir_dir: Path, tmp_path: Path) -> None:
    data = load_beir(beir_dir)
    assert len(data.corpus) == 20 and data.corpus["doc-3"][0] == "Octopuses"
    assert data.qrels["q4"] == {"doc-7": 2, "doc-15": 0}
    ids = write_corpus(data, tmp_path / "docs")
    assert ids["d0000007"] == "doc-7"
    assert (tmp_path / "docs" / "d0000007.txt").read_text("utf-8") == (
        "Saturn\n\nSaturn's rings are made mostly of water ice particles orbiting the planet.\n")


def test_end_to_end(beir_dir: Path) -> None:
    result = run_beir(beir_dir, modes=["bm25", "dense", "hybrid"])
    assert result["documents"] == 20 and result["indexed_documents"] == 20
    assert result["queries"] == 5  # q-none has no relevant document
    for mode in ("bm25", "dense", "hybrid"):
        assert result["metrics"][mode]["ndcg@10"] == 1.0, mode
        assert result["metrics"][mode]["recall@100"] == 1.0
        assert result["metrics"][mode]["map"] == 1.0
    # Documents come back under their BEIR ids, each scored by its best passage.
    top = max(result["runs"]["bm25"]["q4"].items(), key=lambda kv: kv[1])
    assert top[0] == "doc-7"
    assert set(result["runs"]["dense"]["q1"]) <= {f"doc-{i}" for i in range(20)}


def test_cli(beir_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--beir", str(beir_dir), "--modes", "bm25", "--report",
                                       str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert f"BEIR {beir_dir} (test): 5 queries, 20 documents" in result.output
    assert any(line.split() == ["ndcg@10", "1.000"] for line in result.output.splitlines())
    saved = json.loads((tmp_path / "r" / "beir.json").read_text("utf-8"))
    assert saved["metrics"]["bm25"]["recall@10"] == 1.0


def test_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="corpus.jsonl is missing"):
        load_beir(tmp_path)
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n', "utf-8")
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n', "utf-8")
    with pytest.raises(InputError, match=r"qrels/test.tsv is missing"):
        load_beir(tmp_path)
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\ta\n", "utf-8")
    with pytest.raises(InputError, match=r"test.tsv:2: expected query-id, corpus-id and score"):
        load_beir(tmp_path)


@pytest.mark.parametrize(("line", "why"), [
    ("q\ta\tb\t1", "found 4 columns: 'q\\ta\\tb\\t1'"),  # qid docid docid score: a docid would be the grade
    ("q 0 a 1", "found 4 columns: 'q 0 a 1'"),  # TREC's format, space-separated
    ("q\ta\t0.5", "the score '0.5' is not an integer grade"),
])
def test_qrels_of_another_shape_are_refused(tmp_path: Path, line: str, why: str) -> None:
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n', "utf-8")
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n', "utf-8")
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\nq\ta\t1\n{line}\n", "utf-8")
    with pytest.raises(InputError) as info:
        load_beir(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'qrels' / 'test.tsv'}:3: ")
    assert str(info.value).endswith(why)
