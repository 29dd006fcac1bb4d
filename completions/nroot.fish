# SPDX-License-Identifier: Apache-2.0
# fish completion for nroot: the candidates come from `nroot __complete`,
# which reads nroot's own option tables, the store's images and the
# containers.
function __nroot_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete $words[2..-1] 2>/dev/null)
    for line in $out
        if test "$line" = :files
            __fish_complete_path (commandline -ct)
        else
            echo $line
        end
    end
end
complete -c nroot -f -a '(__nroot_complete)'
