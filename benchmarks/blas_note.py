"""One line on which BLAS kernels NumPy may use, printed by the benchmarks that time matrix products.

Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to pin OpenBLAS, NumPy's BLAS, to an
older processor's kernels. PyTorch's MKL is not pinned, so its matrix products would run on wider
vector units than ours: not like with like. The benchmarks say so instead of hiding it.
"""

import os


def blas_note() -> str:
    names = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    pinned = {name: os.environ[name] for name in names if name in os.environ}
    if not pinned:
        return "NumPy's OpenBLAS picks its kernels for this processor (OPENBLAS_CORETYPE is not set)"
    settings = ", ".join(f"{name}={value}" for name, value in pinned.items())
    return (f"note: {settings} pins NumPy's OpenBLAS to those kernels, PyTorch's are not pinned; to compare "
            f"like with like run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`")
