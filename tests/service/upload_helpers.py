"""Small helpers the upload tests share: documents they write, and waiting for a job."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx

HARBOR = ("Harbor notes\n\nThe old harbor of Velmora was dredged in 1911 by the Koller company. "
          "Ships of the Velmora line still dock there every spring.\n")
LIGHTHOUSE = ("Lighthouse\n\nThe Zephyrine lighthouse was built in 1887 by the engineer Mattias Koller. "
              "Its lamp can be seen from twenty three nautical miles away.\n")
WORDS = ("amber basalt copper delta ember fjord granite harbor island juniper kelp lagoon meadow nectar "
         "orchard pebble quarry river saffron tundra umber valley willow yarrow zinc").split()


def small_corpus(folder: Path) -> Path:
    """A corpus of one short document."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harbor.txt").write_text(HARBOR, encoding="utf-8")
    return folder


def small_index(root: Path) -> Path:
    """``root/index``: an index of ``small_corpus(root / "corpus")``."""
    from footnote.index.build import update_index

    update_index([small_corpus(root / "corpus")], root / "index", echo=lambda line: None)
    return root / "index"


def filler(sentences: int, seed: int) -> bytes:
    """A plain-text document of distinct made-up sentences (each one embeds as new text)."""
    rng = random.Random(seed)
    lines = ["Field notes"]
    for i in range(sentences):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + f" number {i}.")
    return ("\n\n".join(lines) + "\n").encode()


def wait_job(client: httpx.Client, job_id: str, timeout: float = 120.0, **headers: str) -> dict[str, Any]:
    """Poll GET /jobs/{id} until it is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)
