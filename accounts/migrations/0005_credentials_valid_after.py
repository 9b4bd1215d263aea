from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="credentials_valid_after",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
