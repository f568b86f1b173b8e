"""The fast Prefect worker: forks each flow run from a warm forkserver and serves only this PC's phones."""
