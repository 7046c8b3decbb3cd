"""`taskvault completion SHELL`: the scripts that teach bash, zsh and fish to complete taskvault.

Each script is thin: at every Tab it asks the installed program for the candidates (`taskvault
__complete SHELL -- …`, answered by cli/shell_completion.py from the registry and the store), so
that what is offered always matches the program that runs, whatever version wrote the script.
A first line ``:files`` or ``:directories`` asks the shell to complete a path itself.

The protocol: zsh and fish pass the words before the cursor, the program's name left out, then the
word being typed; bash passes the line up to the cursor and its COMP_WORDBREAKS. Readline replaces only
the text after the last of those characters (``:`` and ``=`` among them), and bash's own COMP_WORDS do
not say where that is (after ``project:`` its word is ``:``, readline's is empty), so taskvault splits
the line itself and gives back only what goes after that character: ``project:ho`` and ``project:``
complete, with one colon. bash inserts a candidate as it is: taskvault quotes it for bash first (a tag
such as ``$(id)`` must be typed, never run); zsh and fish quote their candidates themselves.
"""

from __future__ import annotations

BASH = r"""# taskvault completion for bash: the candidates come from the installed taskvault itself.
# Install: taskvault completion bash > ~/.local/share/bash-completion/completions/taskvault
_taskvault() {
    local cur=${COMP_WORDS[COMP_CWORD]} reply
    mapfile -t reply < <(command taskvault __complete bash -- "${COMP_LINE:0:COMP_POINT}" "$COMP_WORDBREAKS" 2>/dev/null)
    case ${reply[0]-} in
        :files) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); compopt -o filenames 2>/dev/null ;;
        :directories) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); compopt -o filenames 2>/dev/null ;;
        *) COMPREPLY=("${reply[@]}")
           if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]]; then compopt -o nospace 2>/dev/null; fi ;;
    esac
}
complete -F _taskvault taskvault
"""

ZSH = r"""#compdef taskvault
# taskvault completion for zsh: the candidates come from the installed taskvault itself.
# Install: taskvault completion zsh > ~/.zfunc/_taskvault (a directory in $fpath, before compinit runs)
_taskvault() {
    local -a reply plain attributes
    local line text description
    reply=("${(@f)$(command taskvault __complete zsh -- "${(@Q)words[2,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null)}")
    case $reply[1] in
        (:files) _files; return ;;
        (:directories) _files -/; return ;;
    esac
    for line in $reply; do
        [[ -n $line ]] || continue
        text=${line%%$'\t'*}
        description=${line#*$'\t'}
        text=${text//\\/\\\\}
        text=${text//:/\\:}
        if [[ $text == *: ]]; then
            attributes+=("$text:$description")
        else
            plain+=("$text:$description")
        fi
    done
    local ret=1
    (( $#plain )) && _describe -t candidates taskvault plain && ret=0
    (( $#attributes )) && _describe -t attributes attribute attributes -S '' && ret=0
    return ret
}
if [[ $funcstack[1] == _taskvault ]]; then
    _taskvault "$@"
else
    compdef _taskvault taskvault
fi
"""

FISH = r"""# taskvault completion for fish: the candidates come from the installed taskvault itself.
# Install: taskvault completion fish > ~/.config/fish/completions/taskvault.fish
function __taskvault_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l reply (command taskvault __complete fish -- $words[2..-1] $current 2>/dev/null)
    switch "$reply[1]"
        case :files
            __fish_complete_path $current
        case :directories
            __fish_complete_directories $current
        case '*'
            printf '%s\n' $reply
    end
end
complete -c taskvault -f -a '(__taskvault_complete)'
"""

#: Each shell's script, by the name `completion` takes (catalog.SHELL_CHOICES, which a test holds this to).
SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def script_for(shell: str) -> str:
    """The completion script for ``shell``, without its last newline (it is printed with one)."""
    return SCRIPTS[shell].rstrip("\n")
