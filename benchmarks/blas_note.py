"""Which BLAS kernels the two sides of a benchmark use, settled before NumPy and PyTorch load.

Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to pin OpenBLAS, NumPy's BLAS, to an
older processor's kernels, e.g. Haswell's AVX2 on a processor with AVX-512, while PyTorch's MKL
and oneDNN pick theirs for the processor they run on: one side pinned and the other not is not
like with like. So the benchmarks that time matrix products remove the pin by default, and each
library picks its kernels for this processor, as it would on a user's machine. `--keep-blas-pin`
keeps the pin and holds PyTorch to the same vector width (ATEN_CPU_CAPABILITY,
MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA), so that both sides run AVX2 kernels. Either way the
run prints which case it measured. The scripts' parsers refuse abbreviations of the option
(`allow_abbrev=False`), since it is read here, before they parse.
"""

import os
import sys

PIN = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KEEP_PIN = "--keep-blas-pin"
KEEP_PIN_HELP = "keep this machine's OPENBLAS_CORETYPE pin, and hold PyTorch to the same vector width"
AVX2_CORES = {"haswell", "zen"}  # OpenBLAS's names of the cores whose kernels use AVX2 and no AVX-512


def settle_blas_kernels(argv: list[str] = sys.argv, with_pytorch: bool = True) -> str:
    """Before NumPy or PyTorch is imported: remove the OpenBLAS pin, or with `--keep-blas-pin`
    in `argv` keep it and pin PyTorch alike (a script `with_pytorch=False` times NumPy alone).
    Returns the line that says which."""
    pinned = {name: os.environ[name] for name in PIN if name in os.environ}
    choose = ("NumPy's OpenBLAS and PyTorch each pick theirs" if with_pytorch
              else "NumPy's OpenBLAS picks its own")
    if not pinned:
        return f"BLAS kernels: {choose} for this processor"
    settings = ", ".join(f"{name}={value}" for name, value in pinned.items())
    if KEEP_PIN not in argv:
        for name in pinned:
            del os.environ[name]
        return (f"BLAS kernels: this machine's {settings} is removed for this run, so {choose} for this "
                f"processor ({KEEP_PIN} keeps it)")
    if not with_pytorch:
        return f"BLAS kernels: {settings} kept"
    if pinned.get("OPENBLAS_CORETYPE", "").lower() not in AVX2_CORES:
        return (f"BLAS kernels: {settings} pins NumPy's OpenBLAS, and PyTorch is not held alike: "
                "not like with like")
    os.environ.update(ATEN_CPU_CAPABILITY="avx2", MKL_ENABLE_INSTRUCTIONS="AVX2", ONEDNN_MAX_CPU_ISA="AVX2")
    return (f"BLAS kernels: {settings} kept, and PyTorch held to AVX2 alike (ATEN_CPU_CAPABILITY=avx2, "
            "MKL_ENABLE_INSTRUCTIONS=AVX2, ONEDNN_MAX_CPU_ISA=AVX2)")
