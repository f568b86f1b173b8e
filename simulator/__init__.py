"""Simulated Android phones that a real adb server adopts over TCP (adb connect)."""
