"""Django only, after the documented chain (no Alembic revision): the pipeline's own tables,
`generation_units` (units of work, their attempts and leases) and `generation_rate_slots` (the shared
API rate limiter). The documented tables are left exactly as they are. The units' foreign keys
cascade in PostgreSQL, so plain-SQL deletes of tasks and results keep working."""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEYS = [
    ("generation_units_task_fk", "task_id", "generation_tasks"),
    ("generation_units_result_fk", "result_id", "generation_results"),
]


def add_cascading_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column, table in FOREIGN_KEYS:
            schema_editor.execute(
                f"ALTER TABLE generation_units ADD CONSTRAINT {name} "
                f"FOREIGN KEY ({column}) REFERENCES {table} (id) ON DELETE CASCADE"
            )


def drop_cascading_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _, _ in FOREIGN_KEYS:
            schema_editor.execute(f"ALTER TABLE generation_units DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0004_convert_image_urls_to_jsonb_array'),
        ('siteconfig', '0002_create_config_table_for_boolean_settings'),
    ]

    operations = [
        migrations.CreateModel(
            name='RateLimitSlot',
            fields=[
                ('name', models.CharField(max_length=50, primary_key=True, serialize=False)),
                ('next_at', models.FloatField(default=0.0)),
            ],
            options={
                'db_table': 'generation_rate_slots',
            },
        ),
        migrations.CreateModel(
            name='PipelineUnit',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('batch', 'Batch of personas'), ('images', 'Persona images')], max_length=10)),
                ('number', models.IntegerField()),
                ('size', models.IntegerField(default=0)),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('attempts', models.IntegerField(default=0)),
                ('lease_until', models.DateTimeField(blank=True, null=True)),
                ('queued_at', models.DateTimeField(blank=True, null=True)),
                ('note', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('result', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='units', to='generation.generationresult')),
                ('task', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='units', to='generation.generationtask')),
            ],
            options={
                'db_table': 'generation_units',
                'ordering': ['id'],
                'indexes': [models.Index(fields=['task', 'state'], name='generation_units_task_state'), models.Index(fields=['state', 'updated_at'], name='generation_units_state_upd')],
                'constraints': [models.UniqueConstraint(fields=('task', 'kind', 'number'), name='generation_units_once_per_task')],
            },
        ),
        migrations.RunPython(add_cascading_foreign_keys, drop_cascading_foreign_keys, elidable=False),
    ]
