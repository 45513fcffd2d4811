"""A cheap hasher for high-entropy machine secrets (OAuth client secrets: 128 random characters, ~760 bits).

Key stretching (PBKDF2, ~0.45 s a call) protects guessable human passwords; a secret nobody can guess needs only a
salted hash, and the stretching would hand anyone a cheap way to burn the server's CPU at /o/token/. Never used for
user passwords: Django keeps PBKDF2 first in PASSWORD_HASHERS, and only django-oauth-toolkit names this one.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "client_secret_sha256"
    iterations = 1
