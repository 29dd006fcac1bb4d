# SPDX-License-Identifier: Apache-2.0
# bash completion for nroot.  The candidates come from `nroot __complete`,
# which reads nroot's own option tables, the store's images and the
# containers: this file has nothing to keep in step.
_nroot() {
    local cur=${COMP_WORDS[COMP_CWORD]} line files=0
    local -a cands=()
    while IFS= read -r line; do
        if [ "$line" = :files ]; then
            files=1
        else
            cands+=("$line")
        fi
    done < <("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    # "--net=sl" reaches us as "--net", "=", "sl": complete the value alone
    # (and "--net=container:w" as ..., "container", ":", "w")
    case $cur in =|:) cur= ;; esac
    COMPREPLY=()
    local c
    for c in "${cands[@]}"; do
        [[ $c == "$cur"* ]] && COMPREPLY+=("$c")
    done
    if [ "$files" = 1 ]; then
        local f
        while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$cur")
        compopt -o filenames 2>/dev/null
    fi
    # an option that takes a value: no space after "--name="
    if [ ${#COMPREPLY[@]} = 1 ] && [[ ${COMPREPLY[0]} == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F _nroot nroot
