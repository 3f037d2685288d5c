"""Tests of app.llm: the real openai SDK against a respx-faked server."""
