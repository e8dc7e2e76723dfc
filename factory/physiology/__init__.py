"""Physiology modules: response (what an episode should do), simulate (coupled signals),
artifacts (what goes wrong in a recording) and measure (neurokit2 processing)."""
