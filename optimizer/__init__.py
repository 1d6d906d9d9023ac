"""Quota recommendations: recorded demand in, CP-SAT out, proven on the twin.

Pipeline: ``demand`` (history → demand profile) → ``model/`` (``data → build → solve → read``)
→ ``replay`` (the twin under current and proposed quotas) → ``plan`` (what to change and the
calls that change it). ``recommend`` runs the whole pipeline.
"""
