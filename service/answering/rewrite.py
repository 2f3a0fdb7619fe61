"""Turn a follow-up question into a standalone query, using the conversation so far.

No language model: a follow-up is recognised by what it lacks (a topic of its own) or what it points back
with (pronouns, "what about ...", "and ..."). Its referent is the most specific phrase of the previous
standalone question: the run of content words with the rarest term in the corpus. Questions that stand
on their own are returned unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from footnote.service.answering.question import question_analyzer


class Vocabulary(Protocol):
    """How rare each analyzed term is in the corpus (``Index`` is one: its BM25 statistics), and what phrases
    mean (the index's query embedding)."""

    def idf(self, term: str) -> float: ...

    def known(self, term: str) -> bool: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def terms(text: str) -> list[str]:
    return question_analyzer.terms(text)


def words(text: str) -> list[str]:
    return question_analyzer.words(text)


# BM25's idf, log(1 + (n - df + 0.5) / (df + 0.5)), of a term in a third of the passages: a term that common
# is the corpus's setting ("Japan"), not a topic; and of one in a 25th: rare enough to be a name.
COMMON = math.log(3.0)
RARE = math.log(25.0)
# A phrase with a capitalised word is preferred as a question's subject by this much IDF: about the gap
# between a word in a third of the passages and one in a 20th, so a name beats a common word but not a much
# rarer one.
NAME_BONUS = 2.0
# When "and X?" swaps a phrase of the previous question, ties in meaning go to the later phrase (a question's
# topic tends to come last); the bonus grows to this much cosine for the last phrase, less than the gap
# between a related phrase and an unrelated one.
LATER_PHRASE_BONUS = 0.15

_PERSONAL = {"it": "", "they": "", "them": "", "he": "", "she": "", "him": "",
             "its": "'s", "their": "'s", "his": "'s", "her": "'s"}
_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those|there|then)\s*(?=[?.!,]|$)", re.I)
# "those initiatives", "that commission", "this gap": a noun pointed back at. "That" after a noun is a relative
# pronoun ("the startup that aims"), so it counts only at the start or after a preposition or an auxiliary.
_POINTED = re.compile(r"\b(?P<det>these|those|this|that)\s+(?P<noun>[A-Za-z][\w\-]*)", re.I)
_BEFORE_THAT = {"for", "in", "on", "about", "of", "with", "from", "to", "behind", "by", "at", "into", "besides", "than",
                "does", "do", "did", "is", "are", "was", "were", "has", "have", "can", "could", "should", "would",
                "will"}


def _pointed_nouns(question: str) -> list[re.Match[str]]:
    """The "that commission" / "those initiatives" phrases of a question."""
    out = []
    for match in _POINTED.finditer(question):
        before = words(question[: match.start()])
        if match.group("det").lower() != "that" or not before or before[-1] in _BEFORE_THAT:
            out.append(match)
    return out


def _replace_pointed(question: str, pointed: Sequence[re.Match[str]], referent: str) -> tuple[str, bool]:
    """Replace the first of ``pointed`` (``_pointed_nouns(question)``) whose noun the referent's terms hold:
    "that commission" with "Personal Information Protection Commission"."""
    have = set(terms(referent))
    for match in pointed:
        noun = terms(match.group("noun"))
        if noun and set(noun) <= have:
            return question[: match.start()] + referent + question[match.end() :], True
    return question, False


# Linear time on any question (a request's text must never stall the server): the closing white space and
# punctuation are stripped before matching (_ellipsis) instead of by a lazy topic followed by optional
# runs, which backtracked cubically; possessive quantifiers never give back, and \A keeps a search from
# retrying at every position.
_ELLIPSIS = re.compile(
    r"\A\s*+(?:and|but|also|so|then)?\s*+(?:what|how)\s++about\s++(?P<topic>.+)\Z"
    r"|\A\s*+(?:and|but|also)\s++(?P<topic2>.+)\Z",
    re.I,
)
_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9'’\-]|\.(?=\d))*|[^\sA-Za-z0-9]")
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "does",
                   "do", "did", "can", "could", "should", "was", "were", "has", "have"}


def _ellipsis(question: str) -> re.Match[str] | None:
    """ "what about X?", "and X?": the match whose ``topic`` or ``topic2`` group is X."""
    return _ELLIPSIS.match(question.rstrip().rstrip("?.!").rstrip())


def _content_runs(question: str) -> list[str]:
    """Maximal runs of consecutive content words, as written (e.g. "quantum computing", "Society 5.0")."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(question):
        bare = token.lower().replace("’", "'")
        bare = bare[:-2] if bare.endswith("'s") else bare
        if not bare[0].isalnum() or bare in question_analyzer.stop_words or bare in _QUESTION_WORDS:
            runs.append([])
            continue
        # A proper name and the common words beside it are separate phrases ("Acme" / "install");
        # numbers stay with their word ("Society 5.0").
        if runs[-1] and token[:1].isalpha() and runs[-1][-1][:1].isalpha() and (
            runs[-1][-1][:1].isupper() != token[:1].isupper()
        ):
            runs.append([])
        runs[-1].append(token[:-2] if token.lower().endswith(("'s", "’s")) else token)
        if token.lower().endswith(("'s", "’s")):
            runs.append([])
    return [" ".join(run) for run in runs if run]


def subject_of(question: str, vocab: Vocabulary) -> str | None:
    """The most specific phrase of a question: the content run holding its rarest known term."""
    best: tuple[float, str] | None = None
    for run in _content_runs(question):
        run_terms = terms(run)
        if not run_terms:
            continue
        score = max(vocab.idf(t) if vocab.known(t) else 0.0 for t in run_terms)
        # Proper names and acronyms are what "it" usually points back to.
        if any(word[:1].isupper() for word in run.split()):
            score += NAME_BONUS
        if best is None or score > best[0]:
            best = (score, run)
    return best[1] if best else None


def _has_own_topic(question: str, vocab: Vocabulary) -> bool:
    return any(vocab.known(t) for t in terms(question))


# "Which startup do they also support?", "What other initiatives ...?", "Besides that, ...": asks past what was said.
_CONTRAST = re.compile(
    r"\b(?:also|other|others|else|besides|another|additionally|apart\s+from|aside\s+from|in\s+addition)\b", re.I)


def asks_for_more(question: str) -> bool:
    """True for a follow-up asking past what the conversation said: "And X?", "What other ...?", "... also"."""
    return bool(_ellipsis(question) or _CONTRAST.search(question))


def follows_up(question: str, vocab: Vocabulary) -> bool:
    """``needs_context``, or a noun pointed back at ("that commission"). Such a question names a topic of its
    own, so the rule-based rewrite leaves it alone; the candidates offer the earlier referents that noun names.
    """
    return needs_context(question, vocab) or bool(_pointed_nouns(question))


def needs_context(question: str, vocab: Vocabulary) -> bool:
    """True when the question points back at the conversation instead of naming its topic."""
    tokens = words(question)
    if any(t in _PERSONAL for t in tokens):
        return True
    if _DEMONSTRATIVE.search(question) or _ellipsis(question):
        return True
    return not _has_own_topic(question, vocab)


def _replace_pronoun(question: str, subject: str) -> tuple[str, bool]:
    """Replace the first personal pronoun with the subject (possessives keep their 's)."""

    def swap(match: re.Match[str]) -> str:
        suffix = _PERSONAL[match.group(0).lower()]
        return subject + suffix

    pattern = re.compile(r"\b(" + "|".join(_PERSONAL) + r")\b", re.I)
    rewritten, count = pattern.subn(swap, question, count=1)
    return rewritten, bool(count)


def similar(vocab: Vocabulary, phrase: str, options: list[str]) -> list[float]:
    """How close in meaning each of ``options`` is to ``phrase`` (cosine of the index's query vectors)."""
    vectors = vocab.embed_queries([phrase, *options])
    return [float(x) for x in vectors[1:] @ vectors[0]]


Resolve = Callable[[str, str, str], str]
"""(follow-up, previous standalone question, the answer given to it) -> the follow-up made standalone."""


def earlier_question(history: Sequence[tuple[str, str]], resolve: Resolve) -> tuple[str | None, str]:
    """The conversation's last question made standalone (None when there is none) and the answer given to it.

    Each earlier user turn is resolved against the one before it with ``resolve``, oldest first, so a thread
    of three or more turns keeps its referent."""
    previous: str | None = None
    answer = ""
    for role, content in history:
        text = content.strip()
        if role == "user" and text:
            previous = text if previous is None else resolve(text, previous, answer)
            answer = ""
        elif role == "assistant":
            answer = text
    return previous, answer


def standalone(question: str, history: Sequence[tuple[str, str]], vocab: Vocabulary) -> str:
    """The rule-based query to search for ``question`` given earlier ``(role, content)`` turns, oldest first."""
    previous, _ = earlier_question(history, lambda text, before, _answer: standalone_from(text, before, vocab))
    if previous is None:
        return question.strip()
    return standalone_from(question.strip(), previous, vocab)


# A run of capitalised words or acronyms, hyphens inside ("X-Ray", "NASA", "National Institute of ...").
# Linear: each repetition must start with a capital after at least one space or tab.
_ENTITY = re.compile(r"\b[A-Z][\w\-]*+(?:[ \t]++(?:(?:of|for|and)[ \t]++)?[A-Z][\w\-]*+)*+")
_ANSWER_SENTENCE = re.compile(r"[^.!?\n“”]+")


def entities(answer: str, previous: str, vocab: Vocabulary) -> list[str]:
    """Names in the previous answer that its question did not name: what "it" most likely means.

    The answer's sentence sharing most terms with the question is the one that answered it, so its names come
    first ("They also support Acme, a startup aiming ..." for "Which startup aims ...?"). A single
    capitalised word opening a sentence counts only when rare; names whose every term is in a third or more
    of the passages ("Japan") are the setting, not a referent.
    """
    asked = set(terms(previous))
    sentences = [m.group(0).strip() for m in _ANSWER_SENTENCE.finditer(answer)]
    sentences.sort(key=lambda text: -len(asked & set(terms(text))))  # stable: ties keep the answer's order
    out: list[str] = []
    for sentence in sentences:
        for match in _ENTITY.finditer(sentence):
            name = match.group(0).strip()
            name_terms = terms(name)
            if not name_terms or set(name_terms) <= asked or name in out:
                continue
            if max(vocab.idf(t) for t in name_terms) <= COMMON:
                continue
            if match.start() == 0 and len(name.split()) == 1 and vocab.idf(name_terms[0]) < RARE:
                continue
            out.append(name)
    return out


def candidates(question: str, previous: str | None, answer: str, vocab: Vocabulary, limit: int = 4) -> list[str]:
    """Standalone rewrites to try: the rule-based one first, then one per referent a pronoun may mean.

    ``previous`` is the previous question made standalone (None: no conversation yet), ``answer`` the answer
    given to it. Referents come from the previous answer (its new names first) and the previous question's
    phrases; the answerer keeps the rewrite its reader is most confident in.
    """
    question = question.strip()
    if previous is None:
        return [question]
    first = standalone_from(question, previous, vocab)
    pointed = _pointed_nouns(question)
    if not pointed and not needs_context(question, vocab):  # ``follows_up``, with the pointed nouns kept
        return [first]
    referents = entities(answer, previous, vocab) + [
        run for run in _content_runs(previous) if max((vocab.idf(t) for t in terms(run)), default=0.0) > COMMON
    ]
    out = [first]
    for referent in referents:
        # Only a pronoun, or a noun pointed at ("that commission"), has a referent to swap; "what about X?" keeps
        # the rule-based rewrite alone.
        option, replaced = _replace_pronoun(question, referent)
        if not replaced:
            if not pointed:
                break
            option, replaced = _replace_pointed(question, pointed, referent)
            if not replaced:
                continue
        if option not in out:
            out.append(option)
        if len(out) >= limit:
            break
    return out


def standalone_from(question: str, previous: str, vocab: Vocabulary) -> str:
    """Rewrite ``question`` against the previous standalone question, or return it unchanged."""
    if not needs_context(question, vocab):
        return question
    # "he"/"she" after an answer that named a person: the candidates (``candidates``) offer the answer's names,
    # and the reader keeps the one it is most confident in; the rule-based rewrite stays the question's subject.
    subject = subject_of(previous, vocab)
    ellipsis = _ellipsis(question)
    if ellipsis and ellipsis.group("topic2") and _is_question(ellipsis.group("topic2")):
        # "And what is recommended there?", "And for that weakness, what should Japan consider?": a whole
        # question after the "and".
        question = re.sub(r"^\s*(?:and|but|also)\s+", "", question, flags=re.I)
        question = question[0].upper() + question[1:]
        ellipsis = None
    if ellipsis:
        topic = (ellipsis.group("topic") or ellipsis.group("topic2") or "").strip()
        # "and its weaknesses?": the possessive points at the earlier question, which keeps its frame.
        topic = re.sub(r"^(?:its|their|his|her)\s+", "", topic, flags=re.I)
        if topic and not any(t in _PERSONAL for t in words(topic)):
            # Words found almost everywhere ("Japan") are the setting, not the topic to swap.
            runs = [
                run for run in _content_runs(previous)
                if run in previous and max(vocab.idf(t) for t in terms(run) or [""]) > COMMON
            ]
            if runs:
                # Replace the phrase of the same kind: "strengths" -> "weaknesses", "AI" -> "quantum".
                # A question's topic tends to come last ("How does Japan rank in biotechnology?").
                scores = similar(vocab, topic, runs)
                ranked = [score + LATER_PHRASE_BONUS * i / len(runs) for i, score in enumerate(scores)]
                target = runs[max(range(len(runs)), key=ranked.__getitem__)]
                prep = re.match(r"(in|on|for|about|of|with|at)\s+(.+)", topic, re.I)
                if prep and re.search(rf"\b{prep.group(1)}\s+{re.escape(target)}", previous, re.I):
                    # "and in quantum?" against "... rank in biotech?": swap the topic, keep one "in".
                    topic = prep.group(2)
                if target in previous:
                    return previous.replace(target, topic, 1)
            return f"{previous.rstrip('?.! ')} {topic}?"
    if subject:
        rewritten, replaced = _replace_pronoun(question, subject)
        if replaced and _has_own_topic(_DEMONSTRATIVE.sub("", rewritten), vocab) and not _DEMONSTRATIVE.search(
            rewritten
        ):
            return rewritten
        return _with_context(rewritten, previous, vocab)
    return _with_context(question, previous, vocab)


def _is_question(text: str) -> bool:
    """A whole question ("what is recommended there", "for that weakness, what should ..."), not a topic."""
    tokens = words(text)
    return bool(tokens) and (tokens[0] in _QUESTION_WORDS or any(
        t in ("what", "which", "who", "whom", "whose", "when", "where", "why", "how") for t in tokens[1:]))


def _with_context(question: str, previous: str, vocab: Vocabulary) -> str:
    """Append the earlier question's content words the follow-up lacks, so retrieval keeps the thread."""
    have = set(terms(question))
    extra = [run for run in _content_runs(previous) if not set(terms(run)) <= have]
    if not extra:
        return question
    return f"{question.rstrip()} ({', '.join(extra)})"
