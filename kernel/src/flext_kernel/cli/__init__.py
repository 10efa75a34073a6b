"""The ``flext`` command line: a thin cyclopts app assembled from plugin manifests.

``flext --help`` must not import plugin code, pydantic or the buses: modules here import the kernel lazily.
"""

__all__: list[str] = []
