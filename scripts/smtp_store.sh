#!/bin/sh
# Postfix pipe(8) delivery for the test Postfix (scripts/servers.d/smtp-extra.sh):
# stores the message exactly as Postfix hands it over in DIR/NAME.eml, and
# the envelope (sender, then recipients, one a line) in DIR/NAME.env. Both
# appear by rename, so a reader never sees half a file.
#   usage: smtp_store.sh DIR SENDER RECIPIENT...
set -eu
dir=$1; shift
umask 022
tmp=$(mktemp "$dir/.tmp.XXXXXXXX")
cat > "$tmp"
printf '%s\n' "$@" > "$tmp.env"
name=$(date +%s%N)-$$
mv "$tmp.env" "$dir/$name.env"
mv "$tmp" "$dir/$name.eml"
