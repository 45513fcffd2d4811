from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never edited in the admin: these rows change only through the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
