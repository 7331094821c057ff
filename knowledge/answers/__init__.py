"""Grounded answers: retrieval, refusal, LLM or extractive answering, citation checks."""
