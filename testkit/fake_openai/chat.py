"""Chat completions: the personas a request's JSON schema asks for, or the spoilt answers the switches queued."""

from __future__ import annotations

import json
import time

from testkit.fake_openai.names import unique_name
from testkit.fake_openai.replies import Reply
from testkit.fake_openai.state import FakeState

CHAT_PATH = "/v1/chat/completions"
REFUSAL_TEXT = "I can't help with that."
MALFORMED_CHAT_CONTENT = '{"personas": [ {"firstname": '


def asked_count(payload: dict) -> int:
    """How many personas a chat request asks for: the length its JSON schema fixes (``minItems`` of the
    ``personas`` array); 5 when the request has no such schema."""
    schema = ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    personas = (schema.get("properties") or {}).get("personas") or {}
    count = personas.get("minItems", personas.get("maxItems"))
    return count if isinstance(count, int) and count >= 0 else 5


class ChatCompletions(FakeState):
    """``POST /v1/chat/completions``."""

    def _chat(self, payload: dict) -> Reply:
        time.sleep(self.chat_latency)
        count = asked_count(payload)
        with self._lock:
            mode = self._chat_modes.popleft() if self._chat_modes else None

        content: str | None
        refusal = None
        if mode == "refuse":
            content, refusal = None, REFUSAL_TEXT
        elif mode == "malformed":
            content = MALFORMED_CHAT_CONTENT
        elif callable(mode):
            personas = [mode(index, self._persona()) for index in range(count)]
            content = json.dumps({"personas": personas}, ensure_ascii=False)
        else:
            wanted = max(0, count - 1) if mode == "short" else count
            content = json.dumps({"personas": [self._persona() for _ in range(wanted)]}, ensure_ascii=False)

        prompt_tokens = max(1, len(json.dumps(payload.get("messages") or [])) // 4)
        completion_tokens = max(1, len(content or refusal or "") // 4)
        answer = {
            "id": self._next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model") or "gpt-fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        }
        with self._lock:
            self.usage_sent.append(answer["usage"])
        return Reply(200, json.dumps(answer).encode())

    def _persona(self) -> dict[str, str]:
        """A persona whose (firstname, lastname) pair never repeats in this server's lifetime."""
        with self._lock:
            number = self._person_counter
            self._person_counter += 1
        gender = "f" if number % 2 == 0 else "m"
        firstname, lastname = unique_name(gender, number // 2)
        return {
            "firstname": firstname,
            "lastname": lastname,
            "gender": gender,
            "bio_facebook": f"{firstname} shares family news and local events on Facebook.",
            "bio_instagram": f"Everyday snapshots by {firstname} on Instagram.",
            "bio_x": f"{firstname} {lastname} posts quick takes on X.",
            "bio_tiktok": f"Short TikTok clips from {firstname}'s daily life.",
        }
