"""`python -m worker.prefect_compat server start ...`: Prefect's CLI with the Prefect server's patches."""

from prefect.cli import app

from worker import prefect_compat

if __name__ == "__main__":
    prefect_compat.install("server")
    app()
