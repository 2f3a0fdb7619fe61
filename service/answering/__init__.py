"""The answer step: from a question (and its conversation) to verbatim quotes with footnotes.

- ``answerer.Answerer``: the entry point. ``Answerer(index).answer(AnswerRequest)`` rewrites a follow-up,
  retrieves, reads and chooses the quotes.
- ``rewrite``: follow-up questions made standalone (no language model).
- ``question``: how a question is analysed into terms.
- ``features``: every retrieved sentence as a row of features.
- ``model``: the fitted reader (``reader.json``) that turns rows into calibrated probabilities.
- ``train``: ``footnote train-reader``, which fits ``reader.json``.

The web app (``service.app``, ``service.routes``) only calls ``Answerer``.
"""
