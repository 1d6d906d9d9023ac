"""Faust agents: one module per aggregate stream."""
