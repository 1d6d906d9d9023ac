"""Forward evaluation: is the recommendation better than every simple policy an admin could
pick? Recommend from the past, replay every policy over the next window, judge the numbers.

Owns: the baselines (``baselines``), policies built from per-team values (``policies``), the
rolling-origin harness (``harness``), what a policy costs on one replay (``metrics``) and the
verdicts (``report``). The recommender weighs its candidates with the same ``policies`` and
``metrics``, so a candidate and a baseline are measured alike; ``bench/optimizer.py`` runs the
harness.

May import: the rest of ``optimizer`` (the recommender, ``model.read``, ``replay``, ``demand``,
``resample``, ``robust``, ``plan``, ``settings``, ``candidates``), ``taskgov.policy``. Never
``taskgov.store``, ``streams`` or ``taskgov.cli``: it works on in-memory traces, not on the
record.
"""
