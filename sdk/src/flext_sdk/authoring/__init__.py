"""Plugin authoring tools, shipped as the SDK's own plugin ``sdk``.

``flext plugin new`` writes a new plugin distribution and ``flext dev`` runs a
kernel that swaps plugins as their source changes. Only people who write
plugins need them, so they live with what plugin authors import rather than
in the kernel, which keeps only the plugin host's commands (``plugin list``,
``info``, ``install``, ``enable``, ``disable``, ``uninstall``, ``doctor``,
``version``). ``flext_sdk.authoring.plugin`` declares both commands lazily:
``flext --help`` imports none of this package, and ``flext plugin disable
sdk`` removes the two commands without touching anything else.
"""

__all__: list[str] = []
