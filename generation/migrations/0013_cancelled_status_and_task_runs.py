import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0012_twenty_images_per_persona'),
    ]

    operations = [
        migrations.AlterField(
            model_name='generationtask',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('generating-data', 'Generating data'), ('generating-images', 'Generating images'), ('completed', 'Completed'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], db_default='pending', default='pending', max_length=50),
        ),
        migrations.CreateModel(
            name='TaskRun',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('task', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='generation.generationtask')),
            ],
            options={
                'db_table': 'generation_task_runs',
                'ordering': ['task_id', 'started_at'],
                'indexes': [models.Index(fields=['task', 'started_at'], name='generation_task_runs_task')],
            },
        ),
    ]
