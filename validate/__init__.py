"""Measure, compare, sweep and report; the command line lives here."""
