"""Experiments that train many runs: compare, reproduce (with its report) and bench."""
