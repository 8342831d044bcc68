# A stored cap of 0 or less meant "no cap"; that is now an empty cap, and 0 means that nothing may be spent. The
# rows are moved to the new spelling, so that no one's cap changes meaning.

from django.db import migrations


def to_empty(apps, schema_editor):
    apps.get_model("generation", "UserBudget").objects.filter(monthly_usd__lte=0).update(monthly_usd=None)
    apps.get_model("generation", "TaskBudget").objects.filter(cap_usd__lte=0).update(cap_usd=None)


def to_zero(apps, schema_editor):
    """Back to the old spelling of "no cap", 0; the old columns hold no empty value. The old code reads a 0 as no
    cap, so a cap of 0 set since (nothing may be spent) is lost on the way back."""
    apps.get_model("generation", "UserBudget").objects.filter(monthly_usd__isnull=True).update(monthly_usd=0)
    TaskBudget = apps.get_model("generation", "TaskBudget")
    TaskBudget.objects.filter(cap_usd__isnull=True).update(cap_usd=0)


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0019_budgets_no_cap_is_empty'),
    ]

    operations = [
        migrations.RunPython(to_empty, to_zero),
    ]
