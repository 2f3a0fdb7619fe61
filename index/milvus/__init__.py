"""The ``milvus`` vector store (``--store milvus --milvus-uri URI``, the ``scale`` extra): ``MilvusStore``.

Only the passage vectors (and, on a real Milvus server, BM25) move to Milvus. The version folder keeps every
other file of ``index.files`` (documents, passages, sentence vectors, ``bm25/``, manifest) and gains
``milvus_keys.npy``: row ``i`` is the Milvus primary key of ``passages[i]``, a hash of the passage id and the
text the model embedded (``keys``). Keys are content-addressed, so one collection serves every version at
once: a reader keeps the hits whose key its own version knows (``search``). ``MilvusStore.write`` inserts the
keys a new version adds and ``retire`` deletes the keys no kept version uses (``collection``); connections
and URIs are ``connect``'s.

URIs: a path ending in ``.db`` is Milvus Lite, embedded in this process; ``http(s)://host:port`` is a Milvus
server or cluster shared by many ``footnote serve`` replicas. Lexical search runs in Milvus (its BM25
function, fed our own stemmed tokens so rankings equal bm25s) only on a real server; Milvus Lite keeps BM25
statistics per segment, which drift from bm25s after updates, so there the local ``bm25/`` index is used.
"""

from footnote.index.milvus.store import MilvusStore

__all__ = ["MilvusStore"]
