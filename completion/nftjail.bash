# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for nftjail (installed as share/bash-completion/completions/nftjail)

_nftjail_socket() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case "${COMP_WORDS[i]}" in
		--socket | -s) printf '%s\n' "${COMP_WORDS[i + 1]}" && return ;;
		--socket=*) printf '%s\n' "${COMP_WORDS[i]#--socket=}" && return ;;
		esac
	done
}

# Jail names from the running daemon (nothing when it is not running or refuses us).
_nftjail_jails() {
	local sock args=()
	sock=$(_nftjail_socket)
	[ -n "$sock" ] && args=(--socket "$sock")
	"${COMP_WORDS[0]}" "${args[@]}" status --json 2>/dev/null |
		sed -n 's/^ *"name": "\([^"]*\)".*/\1/p'
}

# Filter names in the --config-dir given on the line, else /etc/nftjail (for nftjail regex).
_nftjail_filters() {
	local i dir=/etc/nftjail f
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case "${COMP_WORDS[i]}" in
		--config-dir | -c) dir=${COMP_WORDS[i + 1]} ;;
		--config-dir=*) dir=${COMP_WORDS[i]#--config-dir=} ;;
		esac
	done
	for f in "$dir"/filter.d/*.conf; do
		[ -e "$f" ] || continue
		f=${f##*/}
		[ "$f" = common.conf ] || printf '%s\n' "${f%.conf}"
	done
}

_nftjail() {
	local cur prev verb="" i nargs=0
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local verbs="status banned ban unban set reload ping metrics regex report-queue check test-config"

	for ((i = 1; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		--socket | -s | --time | -t | --config-dir | -c) ((i++)) ;;
		-*) ;;
		*)
			if [ -z "$verb" ]; then verb=${COMP_WORDS[i]}; else ((nargs++)); fi
			;;
		esac
	done

	case "$prev" in
	--socket | -s)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--time | -t)
		mapfile -t COMPREPLY < <(compgen -W "10m 1h 1d 1w -1" -- "$cur")
		return
		;;
	--config-dir | -c)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	esac

	if [ -z "$verb" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$verbs --socket --json --help --version" -- "$cur")
		return
	fi

	local opts="--json --help --socket"
	case "$verb" in
	ban) opts+=" --time --report" ;;
	unban) opts+=" --all --fleet" ;;
	reload) opts+=" --unban" ;;
	banned | status) opts+=" --kernel" ;;
	regex) opts="--config-dir --json --lint --help" ;;
	test-config) opts="--config-dir --help" ;;
	esac
	if [[ "$cur" == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi

	case "$verb:$nargs" in
	status:0 | ban:0 | reload:0 | set:0 | unban:1)
		mapfile -t COMPREPLY < <(compgen -W "$(_nftjail_jails)" -- "$cur")
		;;
	set:1)
		mapfile -t COMPREPLY < <(compgen -W "banip unbanip" -- "$cur")
		;;
	unban:0)
		# with --all the first argument is a jail
		if [[ " ${COMP_WORDS[*]} " == *" --all "* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_nftjail_jails)" -- "$cur")
		fi
		;;
	regex:0)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	regex:*)
		# one or more filters: names from filter.d, or paths
		mapfile -t COMPREPLY < <(compgen -W "$(_nftjail_filters)" -- "$cur")
		[ ${#COMPREPLY[@]} -gt 0 ] || mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
}

complete -F _nftjail nftjail
