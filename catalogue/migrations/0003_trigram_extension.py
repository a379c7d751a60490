"""pg_trgm, for the search's typo tolerance (ServiceQuerySet.matching). Nothing on SQLite,
where the search falls back to difflib."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0002_aliases_and_search_keys")]

    operations = [TrigramExtension()]
