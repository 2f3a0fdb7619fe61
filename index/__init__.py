"""Index: embeddings, FAISS, BM25 and hybrid retrieval over ingested passages."""
