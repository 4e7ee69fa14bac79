"""MLOps template pipeline: ingest, prepare, train, evaluate."""
