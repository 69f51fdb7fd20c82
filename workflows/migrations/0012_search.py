"""Search served by indexes (issue 14): pg_trgm and trigram GIN indexes on what a search box
compares with `LIKE '%…%'` (workflows.selectors._search_branches), and the (center, state) index
dropped: repair_center_state_age (0011) leads with the same columns and serves every query it did;
(center, created_at, id) serves the repair lists' newest first.

The trigram indexes exist on PostgreSQL only (SQLite has no GIN; it scans), so they are plain SQL
and not in any model's Meta; they cover tables of service_center too, since search is the
workflow's read."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# (index, table, indexed expression): the expression is exactly what the ORM's lookup compiles to
# (`icontains` is UPPER(col) LIKE UPPER(%s); `contains` / `endswith` are col LIKE %s).
TRIGRAM_INDEXES = [
    ("repair_ticket_trgm", "workflows_repair", '"ticket_number"'),
    ("repair_reported_serial_trgm", "workflows_repair", '"reported_serial"'),
    ("customer_name_trgm", "service_center_customer", 'UPPER("name"::text)'),
    ("customer_phone_trgm", "service_center_customer", '"phone"'),
    ("device_serial_trgm", "service_center_device", '"serial_number"'),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (({expression}) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("service_center", "0005_flow_settings"),
        ("workflows", "0011_board_indexes"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
        migrations.RemoveIndex(model_name="repair", name="repair_center_state"),
        migrations.AddIndex(
            model_name="repair",
            index=models.Index(fields=["center", "created_at", "id"], name="repair_center_newest"),
        ),
    ]
