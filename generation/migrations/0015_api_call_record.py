import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0014_trigram_search_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiCall',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('personas', 'Persona batch'), ('bios', 'New bios'), ('base', 'Base selfie'), ('grid', 'Photo grid'), ('replacement', 'Replacement photo'), ('face-swap', 'Face swap')], max_length=20)),
                ('model', models.CharField(max_length=100)),
                ('size', models.CharField(blank=True, default='', max_length=20)),
                ('quality', models.CharField(blank=True, default='', max_length=20)),
                ('outcome', models.CharField(choices=[('ok', 'OK'), ('retried', 'Failed, tried again'), ('refused', 'Refused'), ('failed', 'Failed')], max_length=10)),
                ('http_status', models.IntegerField(blank=True, null=True)),
                ('latency_ms', models.IntegerField()),
                ('text_input_tokens', models.IntegerField(default=0)),
                ('image_input_tokens', models.IntegerField(default=0)),
                ('text_output_tokens', models.IntegerField(default=0)),
                ('image_output_tokens', models.IntegerField(default=0)),
                ('images', models.IntegerField(default=0)),
                ('cost_usd', models.DecimalField(decimal_places=8, default=0, max_digits=14)),
                ('priced', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('result', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_calls', to='generation.generationresult')),
                ('task', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_calls', to='generation.generationtask')),
                ('unit', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_calls', to='generation.pipelineunit')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_calls', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'generation_api_calls',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['task', 'created_at'], name='generation_api_calls_task'), models.Index(fields=['user', 'created_at'], name='generation_api_calls_user'), models.Index(fields=['created_at'], name='generation_api_calls_day'), models.Index(fields=['result'], name='generation_api_calls_result')],
            },
        ),
    ]
