import json

import pytest

from testkit.prices import PRICES


@pytest.fixture
def priced(settings):
    """The OpenAI backend's settings (no call is made here) and a price table."""
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_PRICES = json.dumps(PRICES)
    settings.FACE_CHECK = False
    return settings
