"""``python -m flext_kernel.cli``: the ``flext`` command where its console script is not installed."""

from flext_kernel.cli.main import run

__all__: list[str] = []

if __name__ == "__main__":
    run(observe=False)  # FLEXT's own re-runs (background jobs, firings): not the user's commands
