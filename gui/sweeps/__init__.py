"""GUI of core.experiments: the LR range test dialog and the Sweeps view."""
