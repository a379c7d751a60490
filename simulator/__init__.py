"""The crowd simulator and the living demo: realistic reports from real addresses, for demos,
tests and load. An app of its own on top of the others: it drives `reports` and `outages`
through their services, as a client would, and no production app imports it
(pyproject.toml [tool.importlinter]).

- `places`: sampled cities and real networks in each (data/places.json, from DB-IP).
- `crowd`: the model (rhythms, volumes, problem mixes, incidents) as numpy columns.
- `scenarios`: random history (`plan_backfill`) and named replays (`scenario_get`).
- `live`: a load generator posting to a running server.
- `demo`: the living demo's schedule (pure); `comments`: what its crowd writes (pure);
  `reviewer`: its reviewer, through the review services.

The management commands `simulate` and `demo_data` drive them through the real ingest services.
"""
