#!/bin/sh
# The fleet's certificates with `openssl ca`: one client certificate per kiosk and per HQ process
# (the CN is the MQTT identity), signed by the fleet CA, and the CA's revocation list.
#
# Usage:
#   make-device-cert.sh ID [CA_DIR]            issue CA_DIR/ID.pem and CA_DIR/ID.key (CN = ID)
#   make-device-cert.sh --revoke ID [CA_DIR]   revoke CA_DIR/ID.pem, then rewrite CA_DIR/crl.pem
#   make-device-cert.sh --revoke FILE [CA_DIR] revoke that certificate (e.g. CA_DIR/issued/SERIAL.pem)
#   make-device-cert.sh --crl [CA_DIR]         rewrite CA_DIR/crl.pem (it is valid for 365 days)
# ID: a kiosk's device id (K001: device.id in its config.yaml), or an HQ identity: hq-publisher,
# hq-listener-1, hq-listener-2, ... (one per process: the broker makes the CN the client id).
# CA_DIR defaults to ./kiosk-ca. The first run creates the CA (ca.key: keep it OFFLINE), the
# broker certificate (CN and DNS name $BROKER_NAME, default mqtt.example.com) and an empty CRL.
# Every certificate issued is also kept as CA_DIR/issued/SERIAL.pem and listed in
# CA_DIR/index.txt, so a replaced one can still be revoked.
# After --revoke or --crl: copy crl.pem to the broker (/etc/mosquitto/kiosk-ca/crl.pem, mode
# 0644) and `systemctl reload mosquitto`. Mosquitto refuses every client once the CRL's next
# update has passed, so run --crl from cron, e.g. monthly, even when nothing was revoked.
set -eu
usage() { grep '^#   make-device-cert.sh' "$0" | cut -c3- >&2; exit 2; }

case "${1:-}" in
  --revoke) action=revoke; shift; [ $# -ge 1 ] || usage; id="$1"; shift;;
  --crl) action=crl; shift; id="";;
  ""|-*) usage;;
  *) action=issue; id="$1"; shift
     case "$id" in
       *[!A-Za-z0-9_.-]*) echo "bad id: $id" >&2; exit 2;;
       ca|broker|crl) echo "$id is a name of the CA's own files, not an id" >&2; exit 2;;
     esac;;
esac
dir="${1:-./kiosk-ca}"
broker_name="${BROKER_NAME:-mqtt.example.com}"
if [ "$action" != issue ] && [ ! -f "$dir/ca.key" ]; then echo "no CA in $dir" >&2; exit 1; fi
mkdir -p "$dir"; umask 077
dir="$(cd "$dir" && pwd)"

# openssl ca's database and settings; written on every run, so CA dirs made by older versions of
# this script (x509 -req, no database) gain them too. unique_subject = no: reissuing an id is normal.
mkdir -p "$dir/issued"
[ -f "$dir/index.txt" ] || : > "$dir/index.txt"
[ -f "$dir/crlnumber" ] || echo 1000 > "$dir/crlnumber"
cat > "$dir/ca.cnf" <<EOF
[ ca ]
default_ca = fleet_ca

[ fleet_ca ]
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 825
default_crl_days = 365
policy = policy_cn
unique_subject = no
email_in_dn = no
copy_extensions = none

[ policy_cn ]
commonName = supplied

[ client_cert ]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth

[ server_cert ]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:$broker_name
EOF

quietly() {  # openssl ca is chatty: show its output only when it fails
  out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; return 1; }
}

issue() {  # issue FILE CN EXTENSIONS: a new key FILE.key and FILE.pem for it, subject CN
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$1.key"
  openssl req -new -key "$dir/$1.key" -subj "/CN=$2" -out "$dir/$1.csr"
  quietly openssl ca -batch -notext -rand_serial -config "$dir/ca.cnf" -extensions "$3" \
    -in "$dir/$1.csr" -out "$dir/$1.pem"
  rm -f "$dir/$1.csr"
}

write_crl() {
  quietly openssl ca -gencrl -config "$dir/ca.cnf" -out "$dir/crl.pem"
  chmod 0644 "$dir/crl.pem"  # public, and the broker's user must be able to read it
  echo "wrote $dir/crl.pem (valid 365 days): install it on the broker, then systemctl reload mosquitto"
}

if [ ! -f "$dir/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/CN=Kiosk Fleet CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.pem"
fi
if [ "$action" = issue ]; then  # also completes a CA dir from an older version or a failed run
  [ -f "$dir/broker.pem" ] || issue broker "$broker_name" server_cert
  [ -f "$dir/crl.pem" ] || write_crl
fi

case "$action" in
  issue)
    if [ -f "$dir/$id.pem" ]; then
      echo "replacing $dir/$id.pem; the old one stays valid until it expires or is revoked" \
        "(--revoke $dir/issued/<its serial>.pem; serials are in index.txt)" >&2
    fi
    issue "$id" "$id" client_cert
    echo "issued $dir/$id.pem (CN=$id); for a kiosk, add its store line to kiosk.acl";;
  revoke)
    cert="$id"; [ -f "$cert" ] || cert="$dir/$id.pem"
    [ -f "$cert" ] || { echo "no certificate $cert" >&2; exit 1; }
    quietly openssl ca -config "$dir/ca.cnf" -revoke "$cert"
    echo "revoked $(openssl x509 -in "$cert" -noout -subject -serial | tr '\n' ' ')"
    write_crl;;
  crl)
    write_crl;;
esac
