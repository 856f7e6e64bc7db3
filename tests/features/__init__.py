"""Tests of the feature engine (a package so its conftest does not shadow tests/conftest.py)."""
