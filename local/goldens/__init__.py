"""Goldens from the reference engines (``make goldens``)."""
