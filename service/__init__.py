"""Service: the FastAPI app, answers, chat page and OpenAI-compatible endpoint."""
