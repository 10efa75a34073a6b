"""The kernel's one compiled, optional part: flext_kernel._speedups (see src/flext_kernel/result.py).

``optional=True``: where the extension cannot be built (no compiler, no Python headers)
setuptools warns and the kernel installs without it, pure Python and a little slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("flext_kernel._speedups", ["src/flext_kernel/_speedups.c"], optional=True),
    ]
)
