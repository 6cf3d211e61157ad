"""Helpers shared by test modules: the one place a test module imports another's helpers from."""
