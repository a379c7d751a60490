"""The crowd simulator: realistic reports from real addresses, for demos, tests and load.

- `places`: sampled cities and real networks in each (data/places.json, from DB-IP).
- `crowd`: the model (rhythms, volumes, problem mixes, incidents) as numpy columns.
- `scenarios`: random history (`plan_backfill`) and named replays (`scenario_get`).
- `live`: a load generator posting to a running server.

The management command `simulate` drives them through the real ingest services.
"""
