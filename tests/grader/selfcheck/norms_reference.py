"""Reference of a toy assignment (column norms) used to test the selfcheck on a second plugin."""

import numpy as np


def norms(x: np.ndarray) -> np.ndarray:
    return np.sqrt((x * x).sum(axis=0, keepdims=True))
