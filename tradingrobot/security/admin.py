from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from tradingrobot.admin_base import ReadOnlyAdmin

from . import services
from .client_ip import request_client_ip
from .models import ApiKey, AuditEvent, OAuthClientScopes
from .scopes import ALL

if admin.site.is_registered(APIKey):  # the library's own (unused) model
    admin.site.unregister(APIKey)


def _admin_actor(request) -> str:
    return f"admin:{request.user.get_username()}"


class ApiKeyCreateForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        label="Scopes", choices=[(s, s) for s in ALL], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "expiry_date"]

    def clean_expiry_date(self):
        expiry = self.cleaned_data.get("expiry_date")
        if expiry is not None and expiry <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expiry


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "scopes", "created", "expiry_date", "last_used_at", "revoked", "created_by"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "prefix",
        "name",
        "scopes",
        "created",
        "created_by",
        "expiry_date",
        "last_used_at",
        "revoked",
        "revoked_at",
    ]
    actions = ["revoke_keys"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["name", "scope_choices", "expiry_date"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return  # keys are immutable: revoke and create a new one
        api_key, plain = services.api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scope_choices"],
            expires_at=form.cleaned_data.get("expiry_date"),
            created_by=_admin_actor(request),
            ip=request_client_ip(request),
        )
        obj.pk = api_key.pk  # lets the admin redirect and log the addition
        obj.prefix = api_key.prefix
        messages.warning(
            request, f"The API key for {api_key.name} is: {plain} . Store it now: it will not be shown again."
        )

    def save_related(self, request, form, formsets, change):
        pass

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("security.revoke_apikey")

    @admin.action(description="Revoke selected keys (cannot be undone)", permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, revoked_by=_admin_actor(request), ip=request_client_ip(request))
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.WARNING)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "actor", "key_prefix", "ip", "target", "outcome"]
    list_filter = ["action", "outcome"]
    search_fields = ["actor", "key_prefix", "target", "ip"]
    date_hierarchy = "at"


@admin.register(OAuthClientScopes)
class OAuthClientScopesAdmin(admin.ModelAdmin):
    list_display = ["application", "scopes"]
