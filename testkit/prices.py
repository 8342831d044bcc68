"""A price table for tests and benchmarks: each kind of token priced differently, so a mix-up shows in a sum."""

PRICES = {
    "gpt-5.4-mini": {"per_million": {"text_input": "0.40", "text_output": "1.60"}},
    "gpt-image-2": {"per_million": {"text_input": "5", "image_input": "8", "image_output": "30"}},
}
