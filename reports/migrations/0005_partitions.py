"""PostgreSQL: the raw reports (by day) and the minute counts (by month) become
time-partitioned tables with a default partition (reports.partitions). SQLite: nothing.

The tables are rewritten: on a large installation this takes as long as copying them, with
writes blocked meanwhile; run it in a maintenance window."""

from __future__ import annotations

from django.db import migrations
from django.utils import timezone

from reports import partitions


def partition(apps, schema_editor):
    partitions.tables_partition(schema_editor, now=timezone.now())


def unpartition(apps, schema_editor):
    partitions.tables_unpartition(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_count_indexes")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
