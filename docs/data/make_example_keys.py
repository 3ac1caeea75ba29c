"""Write the bundled example keys: synthetic "real" keys with a known local exponent.

8000 keys in d = 16, uniform on a great 4-sphere (the unit sphere of a random
5-dimensional subspace), so the local exponent at any query on that subsphere
is alpha = 4 and the predicted critical exponent is 2 / alpha = 0.5. The query
is a fixed unit vector of the subspace. It writes example_keys.npy and
example_query.npy into the directory given as its argument (made if needed),
or beside this file (the committed copies) without one:

    python docs/data/make_example_keys.py DIR
"""

import sys
from pathlib import Path

import numpy as np

N, D, M, SEED = 8000, 16, 5, 20261129


def main() -> None:
    rng = np.random.default_rng(SEED)
    basis, _ = np.linalg.qr(rng.normal(size=(D, M)))  # orthonormal columns: the subspace
    keys = rng.normal(size=(N, M)) @ basis.T
    keys *= rng.uniform(0.5, 2.0, size=(N, 1))  # arbitrary norms, as real keys have; only directions matter
    query = basis @ np.eye(M)[0]
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "example_keys.npy", keys.astype(np.float32))
    np.save(out / "example_query.npy", query.astype(np.float32))
    print(f"wrote {N} keys in d = {D} on a great {M - 1}-sphere (alpha = {M - 1}) to {out}")


if __name__ == "__main__":
    main()
