from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_idempotency_record"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="user_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
    ]
