import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0015_api_call_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='apicall',
            options={'ordering': ['-created_at']},
        ),
        migrations.CreateModel(
            name='DailyUsage',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('user_key', models.IntegerField()),
                ('tasks', models.IntegerField(default=0)),
                ('personas', models.IntegerField(default=0)),
                ('images', models.IntegerField(default=0)),
                ('calls', models.IntegerField(default=0)),
                ('failed_calls', models.IntegerField(default=0)),
                ('cost_usd', models.DecimalField(decimal_places=8, default=0, max_digits=14)),
            ],
            options={
                'db_table': 'generation_daily_usage',
                'constraints': [models.UniqueConstraint(fields=('day', 'user_key'), name='generation_daily_usage_once')],
            },
        ),
        migrations.CreateModel(
            name='TaskBudget',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cap_usd', models.DecimalField(decimal_places=2, max_digits=10)),
                ('task', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='budget', to='generation.generationtask')),
            ],
            options={
                'db_table': 'generation_task_budgets',
            },
        ),
        migrations.CreateModel(
            name='UserBudget',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('monthly_usd', models.DecimalField(decimal_places=2, max_digits=10)),
                ('user', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='budget', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'monthly budget',
                'db_table': 'generation_user_budgets',
            },
        ),
    ]
