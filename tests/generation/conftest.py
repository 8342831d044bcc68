import json

import pytest

from testkit.factories import make_user
from testkit.prices import PRICES


@pytest.fixture
def priced(settings):
    """The OpenAI backend's settings (no call is made here) and a price table."""
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_PRICES = json.dumps(PRICES)
    settings.FACE_CHECK = False
    return settings


@pytest.fixture
def staff(client):
    """A staff user, signed in on the test's client."""
    user = make_user("staff@example.com", is_staff=True)
    client.force_login(user)
    return user
