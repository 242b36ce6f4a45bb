#!/bin/sh
# Make a client certificate for one kiosk (or for HQ: CN=hq), signed by the fleet CA.
# Usage: make-device-cert.sh DEVICE_ID [CA_DIR]
#   first run: creates CA_DIR/ca.key + ca.pem (keep ca.key OFFLINE) and the broker certificate.
# Output: CA_DIR/DEVICE_ID.key (give to the kiosk, mode 0600), CA_DIR/DEVICE_ID.pem.
# The kiosk's config.yaml then has hq.tls_ca = ca.pem, hq.tls_cert = DEVICE_ID.pem,
# hq.tls_key = DEVICE_ID.key; device.id must equal DEVICE_ID (it is the MQTT username).
set -eu
id="$1"; dir="${2:-./kiosk-ca}"; broker_name="${BROKER_NAME:-mqtt.example.com}"
case "$id" in *[!A-Za-z0-9_.-]*|"") echo "bad device id: $id" >&2; exit 2;; esac
mkdir -p "$dir"; umask 077
if [ ! -f "$dir/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/CN=Kiosk Fleet CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -out "$dir/ca.pem"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/broker.key"
  openssl req -new -key "$dir/broker.key" -subj "/CN=$broker_name" -out "$dir/broker.csr"
  printf "subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" "$broker_name" > "$dir/broker.ext"
  openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$dir/broker.ext" -out "$dir/broker.pem"
fi
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$id.key"
openssl req -new -key "$dir/$id.key" -subj "/CN=$id" -out "$dir/$id.csr"
printf "extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n" > "$dir/$id.ext"
openssl x509 -req -in "$dir/$id.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 825 -sha256 -extfile "$dir/$id.ext" -out "$dir/$id.pem"
rm -f "$dir/$id.csr" "$dir/$id.ext"
echo "issued $dir/$id.pem (CN=$id); add its store line to kiosk.acl"
# Revoking a lost kiosk: keep a CRL (openssl ca -gencrl) and set `crlfile` in mosquitto.conf.
