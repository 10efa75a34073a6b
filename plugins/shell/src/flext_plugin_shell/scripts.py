"""Completion scripts for bash, zsh and fish: each asks ``flext completion candidates`` for the words.

The line up to the cursor goes in ``FLEXT_COMP_LINE`` (never as arguments, so an option being
completed is not parsed as one of ``flext``'s); the answer is one candidate per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

__all__ = ["SHELLS", "Shell", "install_path", "script"]

Shell = Literal["bash", "zsh", "fish"]
SHELLS: Final = ("bash", "zsh", "fish")

_BASH: Final = r"""# flext completion for bash: source it, or let 'flext completion install bash' do it.
_flext_complete() {
    local IFS=$'\n'
    COMPREPLY=($(FLEXT_COMP_LINE="${COMP_LINE:0:$COMP_POINT}" \
        command flext completion candidates 2>/dev/null))
    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == */ ]] && compopt -o nospace 2>/dev/null
    return 0
}
complete -o default -F _flext_complete flext
"""

_ZSH: Final = r"""#compdef flext
# flext completion for zsh: put it on $fpath as _flext, or source it after compinit.
_flext() {
    local -a candidates
    candidates=("${(@f)$(FLEXT_COMP_LINE="${BUFFER[1,$CURSOR]}" \
        command flext completion candidates 2>/dev/null)}")
    compadd -Q -- ${candidates:#}
}
compdef _flext flext
"""

_FISH: Final = r"""# flext completion for fish
function __flext_complete
    set -lx FLEXT_COMP_LINE (commandline -cp)
    command flext completion candidates 2>/dev/null
end
complete -c flext -f -a '(__flext_complete)'
"""


def script(shell: Shell) -> str:
    """The completion script for ``shell``."""
    return {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}[shell]


def install_path(shell: Shell, home: Path) -> Path:
    """Where ``flext completion install`` writes the script for ``shell`` under ``home``.

    bash-completion loads ``~/.local/share/bash-completion/completions/flext`` on first use; zsh
    reads ``~/.zfunc/_flext`` once ``~/.zfunc`` is on ``$fpath``; fish reads its completions dir.
    """
    return {
        "bash": home / ".local/share/bash-completion/completions/flext",
        "zsh": home / ".zfunc/_flext",
        "fish": home / ".config/fish/completions/flext.fish",
    }[shell]
