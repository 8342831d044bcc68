"""Chat completions: the personas a request's JSON schema asks for, or the spoilt answers the switches queued."""

from __future__ import annotations

import json
import time

from testkit.fake_openai.names import unique_name
from testkit.fake_openai.replies import Reply
from testkit.fake_openai.state import FakeState

CHAT_PATH = "/v1/chat/completions"
PEOPLE_MARK = "The people, as JSON:"
SCENES = ["at the harbour at dawn in a rain jacket", "at a night shift in scrubs", "at a street market at noon",
          "on a bike path at dusk", "at a family lunch on Sunday", "reading in a café in the afternoon"]  # fmt: skip
PROFILE_TEXT = {
    "ethnicity": "Portuguese",
    "job_title": ["Nurse", "Midwife", "Paramedic", "Pharmacist", "Physiotherapist"],
    "workplace": "Hospital de Santo António",
    "edu_establishment": "Universidade do Porto",
    "edu_study": "Nursing",
    "current_city": ["Porto", "Lisboa", "Matosinhos", "Vila Nova de Gaia", "Almada", "Amadora"],
    "current_state": "Porto District",
    "prev_city": "Braga",
    "prev_state": "Braga District",
    "about": "I am {name}; I care for people at night and walk by the river by day.",
    "look": "short dark hair, slim build, practical clothes",
}
REFUSAL_TEXT = "I can't help with that."
MALFORMED_CHAT_CONTENT = '{"personas": [ {"firstname": '


def _schema(payload: dict) -> dict:
    return ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}


def asked_people(payload: dict) -> list[dict]:
    """The people the request's user message lists after its "as JSON:" mark (what a model would read), else []."""
    for message in payload.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or PEOPLE_MARK not in content:
            continue
        line = content.split(PEOPLE_MARK, 1)[1].splitlines()[0].strip()
        try:
            people = json.loads(line)
        except json.JSONDecodeError:
            return []
        return [p for p in people if isinstance(p, dict)] if isinstance(people, list) else []
    return []


def asked_count(payload: dict) -> int:
    """How many personas a chat request asks for: the length its JSON schema fixes (``minItems`` of the
    ``personas`` array); 5 when the request has no such schema."""
    schema = _schema(payload)
    personas = (schema.get("properties") or {}).get("personas") or (schema.get("properties") or {}).get("ideas") or {}
    count = personas.get("minItems", personas.get("maxItems"))
    return count if isinstance(count, int) and count >= 0 else 5


class ChatCompletions(FakeState):
    """``POST /v1/chat/completions``."""

    def _chat(self, payload: dict) -> Reply:
        time.sleep(self.chat_latency)
        count = asked_count(payload)
        schema = _schema(payload)
        item = (((schema.get("properties") or {}).get("personas") or {}).get("items") or {}).get("properties") or {}
        people = asked_people(payload)
        with self._lock:
            mode = self._chat_modes.popleft() if self._chat_modes else None

        content: str | None
        refusal = None
        if mode == "refuse":
            content, refusal = None, REFUSAL_TEXT
        elif mode == "malformed":
            content = MALFORMED_CHAT_CONTENT
        elif "ideas" in (schema.get("properties") or {}):
            content = json.dumps({"ideas": [self._idea(n) for n in range(count)]})
        elif callable(mode):
            personas = [mode(index, self._persona(item, people, index)) for index in range(count)]
            content = json.dumps({"personas": personas}, ensure_ascii=False)
        else:
            wanted = max(0, count - 1) if mode == "short" else count
            personas = [self._persona(item, people, index) for index in range(wanted)]
            content = json.dumps({"personas": personas}, ensure_ascii=False)

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

    def _idea(self, n: int) -> str:
        with self._lock:
            number = self._person_counter
            self._person_counter += 1
        return f"{SCENES[n % len(SCENES)]}, take {number}"

    def _persona(self, item: dict | None = None, people: list[dict] | None = None, index: int = 0) -> dict:
        """A persona whose (firstname, lastname) pair never repeats in this server's lifetime. With the schema's
        item and the people the request lists, it fills every field the schema asks for, keeping each person's ref,
        gender, age and given name, as a model is told to."""
        with self._lock:
            number = self._person_counter
            self._person_counter += 1
        gender = "f" if number % 2 == 0 else "m"
        firstname, lastname = unique_name(gender, number // 2)
        given = (people or [])[index] if index < len(people or []) else {}
        gender = given.get("gender") or gender
        if given.get("firstname") and given.get("lastname"):
            firstname, lastname = given["firstname"], given["lastname"]
        persona: dict = {"firstname": firstname, "lastname": lastname, "gender": gender}
        for field, rule in (item or {}).items():
            if field == "ref":
                persona["ref"] = (
                    given.get("ref") or (rule.get("enum") or [""])[min(index, len(rule.get("enum") or [""]) - 1)]
                )
            elif field == "age":
                persona["age"] = given.get("age") or 30
            elif field == "interests":
                persona["interests"] = ["cycling", "cooking", f"choir no. {number}"]
            elif field == "photo_ideas":
                persona["photo_ideas"] = [
                    f"{SCENES[n % len(SCENES)]}, photo {n + 1} (set {number})" for n in range(rule.get("minItems", 0))
                ]
            elif field not in persona and not field.startswith("bio_"):
                text = PROFILE_TEXT.get(field, field.replace("_", " "))
                text = text[number % len(text)] if isinstance(text, list) else text
                persona[field] = text.format(name=firstname)
        return {
            **persona,
            "bio_facebook": f"{firstname} shares family news and local events on Facebook.",
            "bio_instagram": f"Everyday snapshots by {firstname} on Instagram.",
            "bio_x": f"{firstname} {lastname} posts quick takes on X.",
            "bio_tiktok": f"Short TikTok clips from {firstname}'s daily life.",
        }
