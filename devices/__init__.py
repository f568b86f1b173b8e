"""The only package that talks to phones: adb access, UI automation, scripts and a phone simulator."""
