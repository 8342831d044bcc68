"""Admin forms for the email-login user (Django's stock ones expect a `username`)."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UserChangeForm

from accounts.models import User, normalize_email


class EmailUniquenessMixin:
    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data.get("email", ""))
        others = User.objects.filter(email=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("A user with this email address already exists.")
        return email


class UserCreationForm(EmailUniquenessMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserAdminChangeForm(EmailUniquenessMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


class SignInForm(AuthenticationForm):
    """Django's sign-in form, asking for an email. Its one error message never says whether the
    email exists (no user enumeration)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "That email and password do not match an active account.",
        "inactive": "That email and password do not match an active account.",
    }
