"""flext-plugin-shell: the interactive shell, command history, aliases and shell completion.

Importing the package imports nothing else: ``flext --help`` stays fast.
"""
