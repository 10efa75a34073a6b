"""The ``flext`` command line: a thin cyclopts app assembled from plugin manifests.

Start-up matters here: ``flext --help`` must not import plugin code, pydantic
or the buses. Modules in this package import the kernel lazily, inside the
commands that need it.
"""

__all__: list[str] = []
