"""How the answer step reads a question: its content terms, without the words that only ask."""

from __future__ import annotations

from footnote.index.text import Analyzer

# English function words and the words a question asks with: in a question they name no topic.
QUESTION_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell give list show describe explain please does did
    according document documents report article mention mentioned say says said kind sort way ways
    whose much many
    """.split()
)

question_analyzer = Analyzer(QUESTION_WORDS)
"""BM25's analyzer with the question words also dropped: a question's terms, stemmed as the index stems them."""
