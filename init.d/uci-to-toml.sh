# Maps the UCI config /etc/config/zte_uxip onto the agent's TOML (DESIGN.md keys).
# Sourced by init.d/zte-uxip after OpenWrt's /lib/functions.sh; prints TOML on stdout.
# UCI sections carry the TOML table names: `config broker 'broker'`, `option host '...'`.
# Integers are written bare only when they are digits; anything else is written as a string so
# the agent refuses it with one line naming the key, instead of the shell guessing.

uxip_toml_str() {
	# TOML basic string: escape backslash and quote; the agent refuses control characters.
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

uxip_emit() { # section option kind(str|int|list)
	local value
	config_get value "$1" "$2"
	[ -n "$value" ] || return 0
	case "$3" in
	int)
		case "${value#-}" in
		"" | *[!0-9]*) printf '%s = %s\n' "$2" "$(uxip_toml_str "$value")" ;;
		*) printf '%s = %s\n' "$2" "$value" ;;
		esac ;;
	list)
		local item out=""
		for item in $value; do out="$out${out:+, }$(uxip_toml_str "$item")"; done
		printf '%s = [%s]\n' "$2" "$out" ;;
	*) printf '%s = %s\n' "$2" "$(uxip_toml_str "$value")" ;;
	esac
}

uxip_table() { # section, then option:kind pairs; prints the table only if the section exists
	local section=$1 type
	shift
	config_get type "$section" TYPE
	[ -n "$type" ] || return 0
	printf '[%s]\n' "$section"
	local spec
	for spec in "$@"; do uxip_emit "$section" "${spec%%:*}" "${spec#*:}"; done
}

uxip_uci_to_toml() {
	config_load zte_uxip
	uxip_emit main device_id str
	uxip_table broker host:str port:int ca_file:str cert_file:str key_file:str keepalive_s:int
	uxip_table consent toggle_file:str
	uxip_table intervals sample_s:int report_s:int reports_per_batch:int
	uxip_table spool dir:str max_bytes:int persist_after_s:int
	uxip_table state dir:str
	uxip_table modem backend:str password_file:str
	uxip_table links exclude:list
	uxip_table privacy secret_file:str
	uxip_table wifi short_range_dbm:int uci_file:str hostapd_conf:list kmsg_file:str
	uxip_table commands verify_key_file:str
}
