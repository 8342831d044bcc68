"""Accept the Flask app's password hashes, so that its users keep their passwords.

Flask-Bcrypt stored bare bcrypt hashes (`$2b$12$<salt><checksum>`, 60 characters) in
`users.password_hash`. Django identifies a hash by the text before its first `$`, which a bare
bcrypt hash does not have, so `manage.py adopt_legacy_db` rewrites each one once as
`flask_bcrypt$<bare hash>` (see `avatar_project.adoption.users.LEGACY_HASH_PREFIX`). This hasher
then verifies them exactly as Flask-Bcrypt did. It is listed after PBKDF2 in PASSWORD_HASHERS, so the first
successful sign-in replaces the hash with a PBKDF2 one.
"""

from __future__ import annotations

import contextlib

from django.contrib.auth.hashers import BCryptPasswordHasher
from django.utils.crypto import constant_time_compare


class FlaskBcryptPasswordHasher(BCryptPasswordHasher):
    """Plain bcrypt of the UTF-8 password (no SHA-256 pre-hash), as Flask-Bcrypt does with its
    default BCRYPT_HANDLE_LONG_PASSWORDS = False. Only for checking old hashes: new passwords
    get the preferred hasher."""

    algorithm = "flask_bcrypt"

    def verify(self, password: str, encoded: str) -> bool:
        """Flask-Bcrypt's check: hash the password with the stored hash as salt and compare the
        results in constant time. Whatever bcrypt refuses is a failed check, never an error page:
        a password over its 72-byte limit (bcrypt >= 5 raises ValueError where older versions
        silently ignored the extra bytes) or a damaged hash."""
        algorithm, _, stored = encoded.partition("$")
        if algorithm != self.algorithm:
            return False
        bcrypt = self._load_library()
        try:
            candidate = bcrypt.hashpw(password.encode("utf-8"), stored.encode("ascii"))
        except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
            return False
        return constant_time_compare(candidate, stored.encode("ascii"))

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Django calls this only for its preferred hasher, which this never is; it must not
        raise on a long password all the same."""
        with contextlib.suppress(ValueError):
            super().harden_runtime(password, encoded)
