"""OpenAI, or any server that speaks its wire format: the backend, and the pacing of its calls."""
