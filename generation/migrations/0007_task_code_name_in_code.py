"""Django only, no SQL: the public 8-character code is called `task_code` in code, so that it never shares a
name with the primary key (`GenerationResult.task_id` is the task's pk). The column keeps its documented name,
`task_id`, and the two unique constraints keep theirs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generation", "0006_stall_sweep_schedule")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="generationtask", name="ix_generation_tasks_task_id"),
                migrations.RemoveConstraint(model_name="generationtask", name="uq_generation_tasks_task_id"),
                migrations.RenameField(model_name="generationtask", old_name="task_id", new_name="task_code"),
                migrations.AlterField(
                    model_name="generationtask",
                    name="task_code",
                    field=models.CharField(db_column="task_id", editable=False, max_length=12),
                ),
                migrations.AddConstraint(
                    model_name="generationtask",
                    constraint=models.UniqueConstraint(fields=("task_code",), name="ix_generation_tasks_task_id"),
                ),
                migrations.AddConstraint(
                    model_name="generationtask",
                    constraint=models.UniqueConstraint(fields=("task_code",), name="uq_generation_tasks_task_id"),
                ),
            ],
            database_operations=[],
        )
    ]
