"""The bounded keep-what-you-worked-out map behind the query-vector cache and the reader's passage arrays."""

from __future__ import annotations

import threading

import pytest

from footnote.index.kept import Kept


def test_kept_holds_the_most_recently_used() -> None:
    kept: Kept[str, int] = Kept(2)
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(made)

    assert [kept.get(k, lambda k=k: make(k)) for k in ("a", "b", "a", "c", "a", "b")] == [1, 2, 1, 3, 1, 4]
    assert made == ["a", "b", "c", "b"]  # "a", used last, outlived "b"; "b" was worked out again
    assert len(kept) == 2


def test_missing_keys_are_worked_out_in_one_call() -> None:
    kept: Kept[str, str] = Kept(10)
    calls: list[list[str]] = []

    def upper(missing: list[str]) -> list[str]:
        calls.append(missing)
        return [m.upper() for m in missing]

    assert kept.get_many(["a", "b", "a"], upper) == {"a": "A", "b": "B"}
    assert kept.get_many(["b", "c", "d"], upper) == {"b": "B", "c": "C", "d": "D"}
    assert calls == [["a", "b"], ["c", "d"]]  # a key asked twice is worked out once; "b" was kept


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="Kept needs a size of at least 1, not 0"):
        Kept(0)


def test_threads_share_one_bounded_map() -> None:
    kept: Kept[int, int] = Kept(50)
    wrong: list[tuple[int, int]] = []  # an assert in a thread would not fail the test

    def work(offset: int) -> None:
        for i in range(2000):
            key = (i * 7 + offset) % 120
            if (got := kept.get(key, lambda key=key: key * key)) != key * key:
                wrong.append((key, got))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(kept) == 50


def test_a_kept_none_is_not_worked_out_again() -> None:
    kept: Kept[str, None] = Kept(4)
    calls: list[str] = []
    for _ in range(3):
        assert kept.get("x", lambda: calls.append("x")) is None
    assert calls == ["x"]
