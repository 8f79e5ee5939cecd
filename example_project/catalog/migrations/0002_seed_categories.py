from django.db import migrations, router

SEED_CATEGORIES = [
    ("Books", "books", "Paperbacks, hardcovers and e-book vouchers."),
    ("Electronics", "electronics", "Gadgets, cables and accessories."),
    ("Garden", "garden", "Tools and seeds for the garden."),
    ("Toys", "toys", "Games and toys for all ages."),
]


def seed_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    db_alias = schema_editor.connection.alias
    if not router.allow_migrate_model(db_alias, Category):
        return
    for name, slug, description in SEED_CATEGORIES:
        Category.objects.using(db_alias).get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )


def remove_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    db_alias = schema_editor.connection.alias
    if not router.allow_migrate_model(db_alias, Category):
        return
    slugs = [slug for _, slug, _ in SEED_CATEGORIES]
    Category.objects.using(db_alias).filter(slug__in=slugs, products__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed_categories, remove_categories),
    ]
