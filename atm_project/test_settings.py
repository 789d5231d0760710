"""Settings for the test suite: production settings with a fast password hasher.

Hashing every fixture user's password with Argon2 would dominate the suite's time; tests that
are about hashing override PASSWORD_HASHERS back to the production list.
"""

from .settings import *  # noqa: F403
from .settings import PASSWORD_HASHERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
