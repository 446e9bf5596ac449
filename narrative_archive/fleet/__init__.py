"""Past one machine: Scrapyd crawl nodes, batches in shared storage, read replicas.

- scrapyd.py: Scrapyd's JSON API (one client per node)
- egg.py: the project as an egg for addversion.json
- dispatch.py: the scheduler's jobs on the nodes (partition, follow, reschedule)
- node.py: the pipeline on a node: batches instead of archive writes
- batches.py: the batch format (manifest last), writing and reading
- storage.py: a directory or an S3-compatible bucket
- ingest.py: the archive host ingests each batch exactly once
- replica.py: Litestream replication and restore, Datasette on a replica

None of it is imported on the single-machine path (docs/fleet.md).
"""
