"""The fault switches: errors, dropped connections, delays, spoilt chat answers and raw image bytes, queued for
the next matching requests."""

from __future__ import annotations

from testkit.fake_openai.state import FakeState, Fault


class FaultSwitches(FakeState):
    """Switches a test throws to make the next matching requests fail in the ways the project must survive."""

    def fail_next(
        self,
        path_suffix: str,
        status: int,
        times: int = 1,
        *,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        skip: int = 0,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` with an OpenAI error (or the raw ``body``); with
        ``skip``, only after that many matching requests have passed this fault by."""
        fault = Fault(
            path_suffix, times, status=status, code=code, message=message, retry_after=retry_after, body=body,
            skip=skip,
        )  # fmt: skip
        with self._lock:
            self._faults.append(fault)

    def delay_next(self, path_suffix: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` matching requests wait ``seconds`` before they are answered (a slow model)."""
        with self._lock:
            self._delays.append([path_suffix, seconds, times])

    def _take(self, queue: list[list], path: str):
        """The value of the first [path suffix, value, remaining] entry that matches `path`, used up once."""
        with self._lock:
            for entry in queue:
                if path.endswith(entry[0]):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        queue.remove(entry)
                    return entry[1]
        return None

    def drop_next(self, path_suffix: str, times: int = 1) -> None:
        """The next ``times`` matching requests get their connection closed without any answer."""
        with self._lock:
            self._faults.append(Fault(path_suffix, times, drop=True))

    def malformed_next_chat(self, times: int = 1) -> None:
        """Next chat answers are 200 but the message content is truncated, invalid JSON."""
        with self._lock:
            self._chat_modes.extend(["malformed"] * times)

    def refuse_next_chat(self, times: int = 1) -> None:
        """Next chat answers are 200 with ``content`` null and a ``refusal`` message."""
        with self._lock:
            self._chat_modes.extend(["refuse"] * times)

    def short_next_chat(self, times: int = 1) -> None:
        """Next chat answers hold one persona fewer than asked (never below zero)."""
        with self._lock:
            self._chat_modes.extend(["short"] * times)

    def send_next_image(self, path_suffix: str, data: bytes, times: int = 1) -> None:
        """The next ``times`` matching image requests answer with these bytes as the image, whatever they are
        (a bomb, a truncated file, the wrong format)."""
        with self._lock:
            self._raw_images.append([path_suffix, data, times])

    def hostile_next_chat(self, spoil) -> None:
        """The next chat answer holds the personas asked for, each passed through ``spoil(index, persona)``
        first: what a hostile or broken model would send (wrong types, control characters, huge bios)."""
        with self._lock:
            self._chat_modes.append(spoil)

    def reject_all_with(self, status: int, code: str | None = None, message: str | None = None) -> None:
        """Every request answers this error until ``clear_faults()`` (e.g. 401 ``invalid_api_key``)."""
        with self._lock:
            self._reject_all = (status, code, message)

    def clear_faults(self) -> None:
        """Forget queued faults, chat switches and ``reject_all_with``."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._raw_images.clear()
            self._chat_modes.clear()
            self._reject_all = None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.endswith(fault.suffix):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
