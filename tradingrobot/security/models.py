from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey

from .scopes import ALL


class ApiKey(AbstractAPIKey):
    """An API key: stored as a SHA-512 hash, found by its 8-character prefix; the key is shown once."""

    scopes = models.CharField(max_length=64, help_text="Space-separated scopes: read, trade, admin.")
    created_by = models.CharField(max_length=150, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        permissions = [("revoke_apikey", "Can revoke API keys")]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def label(self) -> str:
        """Names the key in audit records: its name and its public prefix."""
        return f"{self.name} ({self.prefix})"


class AuditEvent(models.Model):
    """Who did what, when, from where. Append-only; kept when the key is deleted (the prefix stays)."""

    class Action(models.TextChoices):
        ORDER_PLACE = "order_place"
        ORDER_CANCEL = "order_cancel"
        TRADING_HALT = "trading_halt"
        TRADING_RESUME = "trading_resume"
        KEY_CREATE = "key_create"
        KEY_REVOKE = "key_revoke"
        STRATEGY_CREATE = "strategy_create"
        STRATEGY_UPDATE = "strategy_update"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    actor = models.CharField(max_length=200, help_text="key:NAME, oauth:CLIENT, user:NAME or admin:NAME")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key_prefix = models.CharField(max_length=8, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    target = models.CharField(max_length=200, blank=True, help_text="What was acted on: order id, symbol, key")
    outcome = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the request")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor}"


class OAuthClientScopes(models.Model):
    """The scopes an OAuth 2.0 client (client credentials) may ask for; a client without a row gets none."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="allowed_scopes"
    )
    scopes = models.CharField(max_length=64, help_text="Space-separated scopes: read, trade, admin.")

    class Meta:
        verbose_name = "OAuth client scopes"
        verbose_name_plural = "OAuth client scopes"

    def __str__(self) -> str:
        return f"{self.application} -> {self.scopes}"

    def clean(self) -> None:
        """Only the known scopes, at least one, written canonically (the admin's form calls this)."""
        names = set(self.scopes.replace(",", " ").lower().split())
        unknown = sorted(names - set(ALL))
        if unknown or not names:
            shown = f"Unknown scope(s) {', '.join(unknown)}; " if unknown else ""
            raise ValidationError({"scopes": f"{shown}use one or more of {', '.join(ALL)}."})
        self.scopes = " ".join(scope for scope in ALL if scope in names)
