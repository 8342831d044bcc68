from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.forms import UserAdminChangeForm, UserCreationForm
from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserCreationForm
    list_display = ("email", "is_active", "is_staff", "is_superuser", "last_login", "created_at")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email",)
    ordering = ("email",)
    readonly_fields = ("created_at", "last_login")
    filter_horizontal = ("groups", "user_permissions")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("created_at", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "is_staff", "is_superuser")}),
    )
    actions = ("activate_users", "deactivate_users")

    @admin.action(description="Activate selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = queryset.update(is_active=True)
        self.message_user(request, f"Activated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected users (they can no longer sign in)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {count} user(s). You cannot deactivate yourself.", messages.SUCCESS)
