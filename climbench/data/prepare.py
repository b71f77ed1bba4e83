"""Prepared stores (placeholder module replaced below)."""
def prepare(*a, **k):
    raise NotImplementedError
