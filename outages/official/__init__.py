"""The official status beside the crowd: each service's own status page (Atlassian
Statuspage JSON or an RSS/Atom incident feed), polled by a beat task through
outages.outbound, each change of its state stored with its time (docs/official.md).

`parse` reads a page (pure), `services` polls and stores, `selectors` compares the official
changes with Downradar's incidents (the lead time), `tasks` runs it on Celery."""
