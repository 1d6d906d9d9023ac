"""The HyperPod task-governance policy: its model, its loading and its compilation to Kueue."""
