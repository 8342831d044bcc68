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

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """A superuser's account is changed (deactivated, its password set) by superusers only."""
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # Only a superuser makes another one or hands out permissions: staff who may change users cannot raise
        # anyone, themselves included, above what a superuser gave them.
        if request.user.is_superuser:
            return self.readonly_fields
        return (*self.readonly_fields, "is_superuser", "groups", "user_permissions")

    def changeable(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        """The selected users this user may change: not themselves, and no superuser unless they are one."""
        queryset = queryset.exclude(pk=request.user.pk)
        return queryset if request.user.is_superuser else queryset.exclude(is_superuser=True)

    @admin.action(permissions=["change"], description="Activate selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = self.changeable(request, queryset).update(is_active=True)
        self.message_user(request, f"Activated {count} user(s).", messages.SUCCESS)

    @admin.action(permissions=["change"], description="Deactivate selected users (they can no longer sign in)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        selected = queryset.count()
        count = self.changeable(request, queryset).update(is_active=False)
        message = f"Deactivated {count} user(s)."
        if selected > count:
            rule = "" if request.user.is_superuser else ", and only a superuser deactivates a superuser"
            message += f" {selected - count} left active: you cannot deactivate yourself{rule}."
        self.message_user(request, message, messages.SUCCESS)
