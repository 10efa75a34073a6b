"""``python -m flext_kernel.cli``: the ``flext`` command where its console script is not installed.

``flext_sdk.testing`` falls back to this when no ``flext`` executable sits
next to the running Python (a non-venv interpreter with the packages on
``PYTHONPATH``, for one).
"""

from flext_kernel.cli.main import run

__all__: list[str] = []

if __name__ == "__main__":
    run()
