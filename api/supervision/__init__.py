"""The launcher: child processes, their supervision, the wiring of the service, background upkeep."""
