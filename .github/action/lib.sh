# Functions the action's scripts share; sourced, never run.
# shellcheck shell=bash

# shown quotes an input for a message: as given when it is short printable
# text, else clipped and escaped, so that a hostile value can neither flood
# the log nor reach a terminal as escape sequences.
shown() {
	local v=$1 more=
	if [ ${#v} -gt 60 ]; then
		v=${v:0:60}
		more="… (${#1} characters)"
	fi
	if [[ $v == *[![:print:]]* || $v == *"'"* ]]; then
		printf '%q%s' "$v" "$more"
	else
		printf "'%s'%s" "$v" "$more"
	fi
}
