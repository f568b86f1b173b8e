"""A chaos run: a farm on simulated phones under a mixed workload and seeded faults, judged from the phones' own logs."""
