"""Gateways to what the service stores and asks: Prefect (runs, health), the SQLite index, the adb server."""
