"""Loopback servers and data builders shared by `tests/` and `bench/`: the OpenAI-wire-format server, moto's S3
bucket helpers, django-q2 clusters in their own processes, and small builders that go through the models' own
code paths. Production code never imports this package."""
