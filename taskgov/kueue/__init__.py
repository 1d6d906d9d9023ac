"""Kueue's objects and units, shared by the compiler and the twin."""
