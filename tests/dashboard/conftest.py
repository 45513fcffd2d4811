import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Permission

PASSWORD = "operator-test-password"


def _password_hash() -> str:
    """A hash the server processes can check too: they run the real settings (PBKDF2), the suite uses MD5."""
    return PBKDF2PasswordHasher().encode(PASSWORD, "dashboardsalt", iterations=1000)


@pytest.fixture
def make_user(db, settings):
    """make_user("op", staff=True, halt=True): a user of Django's auth, with the halt permission when asked."""
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

    def make(username: str, *, staff: bool, halt: bool = False):
        user = get_user_model().objects.create(username=username, password=_password_hash(), is_staff=staff)
        if halt:
            halt_trading = Permission.objects.get(codename="halt_trading", content_type__app_label="trading")
            user.user_permissions.add(halt_trading)
        return user

    return make


from .browser_kit import browser, collected_static, key, priced, server  # noqa: E402, F401 - the browser tests' fixtures
