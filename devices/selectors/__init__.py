"""Selectors as data: per-app YAML files, validated at load, matched against screen nodes after normalising text."""

from devices.selectors.engine import (Alternative, Match, Selectors, SelectorFileError, find_element, load_every_app,
                                      load_selectors, match_interruption, normalise, recognise_screen, shipped_apps)

__all__ = ["Alternative", "Match", "Selectors", "SelectorFileError", "find_element", "load_every_app", "load_selectors",
           "match_interruption", "normalise", "recognise_screen", "shipped_apps"]
