"""Symbolic links met while walking a folder: followed only to a regular file inside that folder; every
other link is listed as skipped with its reason, never ingested and never dropped without a word."""

from __future__ import annotations

import os
from pathlib import Path

from footnote.ingest import discover, parse

GOOD = "Lidar Notes\n\nThe Tsukuba consortium tested a lidar chip in 2024.\n"


def test_links_are_followed_only_to_files_inside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret\n\nNot for the index.\n")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text(GOOD)
    (folder / ".drafts").mkdir()
    (folder / ".drafts" / "v3.md").write_text("# Draft\n\nA draft kept in a hidden folder.\n")
    links = {
        "passwd-link.txt": "/etc/passwd",
        "secret.txt": "../outside/secret.txt",
        "outside-dir": "../outside",
        "loop-a.txt": "loop-b.txt",
        "loop-b.txt": "loop-a.txt",
        "self.md": "self.md",
        "dangling.txt": "missing.txt",
        "again.txt": "notes.txt",
        "sub/up.txt": "../notes.txt",
        "subdir": "sub",
        "draft.md": ".drafts/v3.md",
        "null.txt": "/dev/null",
    }
    for name, target in links.items():
        os.symlink(target, folder / name)

    files, skipped = discover([folder])
    assert files == [folder / "draft.md", folder / "notes.txt"]
    assert skipped == sorted({
        folder / "again.txt": "symbolic link to notes.txt, which is ingested under its own name",
        folder / "dangling.txt": "broken symbolic link: its target does not exist",
        folder / "loop-a.txt": "symbolic link loop",
        folder / "loop-b.txt": "symbolic link loop",
        folder / "null.txt": "symbolic link to outside the folder being ingested: not followed",
        folder / "outside-dir": "symbolic link to outside the folder being ingested: not followed",
        folder / "passwd-link.txt": "symbolic link to outside the folder being ingested: not followed",
        folder / "secret.txt": "symbolic link to outside the folder being ingested: not followed",
        folder / "self.md": "symbolic link loop",
        folder / "sub" / "up.txt": "symbolic link to notes.txt, which is ingested under its own name",
        folder / "subdir": "symbolic link to a folder: not followed (its files are read where they are)",
    }.items())
    # A followed link is a document under its own name, not its target's.
    draft = parse(folder / "draft.md", folder)
    assert (draft.path, draft.doc_id, draft.title) == ("draft.md", "draft", "Draft")


def test_a_linked_root_and_a_named_file_are_read(tmp_path: Path) -> None:
    """The folder given may itself be a link (its files are inside it); a file named on the command line
    is read even when it is a link, since the user chose it."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.txt").write_text(GOOD)
    os.symlink(real, tmp_path / "corpus")
    os.symlink(real / "notes.txt", tmp_path / "named.txt")
    assert discover([tmp_path / "corpus"]) == ([tmp_path / "corpus" / "notes.txt"], [])
    assert discover([tmp_path / "named.txt"]) == ([tmp_path / "named.txt"], [])
    assert parse(tmp_path / "corpus" / "notes.txt", tmp_path / "corpus").path == "notes.txt"
